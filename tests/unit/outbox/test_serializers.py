from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from eventyard.outbox import (
    CONTENT_TYPE_AVRO,
    AvroSerializer,
    BytesSerializer,
    ConfigError,
    JsonSerializer,
)
from eventyard.outbox._serializers import confluent_schema_id

SCHEMA = json.dumps(
    {
        "type": "record",
        "name": "OrderPlaced",
        "namespace": "shop",
        "fields": [{"name": "order_id", "type": "string"}, {"name": "total", "type": "long"}],
    }
)


def test_json_is_compact_utf8() -> None:
    out = JsonSerializer().serialize({"name": "Zoë", "n": 1}, topic="t")
    assert out.data == '{"name":"Zoë","n":1}'.encode()
    assert out.content_type == "application/json"
    assert out.schema_id is None


def test_json_refuses_what_it_cannot_encode_unless_given_a_default() -> None:
    with pytest.raises(TypeError):
        JsonSerializer().serialize({"when": object()}, topic="t")
    assert (
        JsonSerializer(default=lambda _o: "x").serialize({"o": object()}, topic="t").data
        == b'{"o":"x"}'
    )


def test_bytes_pass_through() -> None:
    out = BytesSerializer(content_type="text/plain").serialize(b"\x00\x01raw", topic="t")
    assert (out.data, out.content_type) == (b"\x00\x01raw", "text/plain")
    with pytest.raises(TypeError):
        BytesSerializer().serialize("text", topic="t")


def test_avro_writes_confluent_wire_format_and_registers_under_the_topic_subject() -> None:
    registry = SchemaRegistryClient.new_client({"url": "mock://outbox-unit"})
    serializer = AvroSerializer(registry, SCHEMA)
    out = serializer.serialize({"order_id": "o-1", "total": 12}, topic="outbox.event.order")
    assert out.content_type == CONTENT_TYPE_AVRO
    assert out.data[0] == 0  # magic byte
    latest = registry.get_latest_version("outbox.event.order-value")
    assert out.schema_id == latest.schema_id
    assert confluent_schema_id(out.data) == latest.schema_id


def test_avro_refuses_a_payload_that_does_not_match() -> None:
    serializer = AvroSerializer(
        SchemaRegistryClient.new_client({"url": "mock://outbox-unit-2"}), SCHEMA
    )
    with pytest.raises(Exception, match="total"):
        serializer.serialize({"order_id": "o-1"}, topic="t")


def test_avro_with_a_broken_schema_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="Avro"):
        AvroSerializer(
            SchemaRegistryClient.new_client({"url": "mock://outbox-unit-3"}), "{not json"
        )


def test_schema_id_of_other_bytes_is_none() -> None:
    assert confluent_schema_id(b"{}") is None
    assert confluent_schema_id(b"\x00\x00") is None
