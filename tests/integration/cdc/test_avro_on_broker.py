"""The Avro path end to end on the real broker: change events framed in Confluent's wire format
by our own producer (Confluent's Connect Avro converter is not served here), schemas in the
registry, a projection runner decoding them into a mirrored table."""

# ruff: noqa: PLR0917 - pytest hands fixtures to tests as positional parameters

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema

from eventyard.cdc import Decoder, Projection, ProjectionRunner, RegistrySchemas, RunnerConfig
from eventyard.cdc.testing import avro_change_value, avro_envelope_schema, column, frame_avro

COLUMNS = {
    "id": column("int64", optional=False),
    "amount": column("decimal", scale=2),
    "placed": column("micro_timestamp"),
    "tags": column("text_array"),
    "doc": column("json"),
}


def _registry(request: pytest.FixtureRequest) -> str:
    """The stack's registry when it can run here, else confluent-kafka's in-memory one."""
    try:
        return str(request.getfixturevalue("registry_url"))
    except Exception:  # the registry service is not installed on this machine
        return "mock://eventyard-cdc-avro"


def test_avro_change_events_are_projected(
    request: pytest.FixtureRequest,
    pg_database: str,
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    unique_name: Callable[[str], str],
    converge: Any,
    runners: list[ProjectionRunner],
) -> None:
    topic = new_topic("avro_orders")
    schemas = RegistrySchemas(_registry(request))
    envelope = avro_envelope_schema("public.orders", COLUMNS)
    schema_id = schemas.client.register_schema(
        f"{topic}-value", Schema(json.dumps(envelope), "AVRO")
    )
    key_schema = {"type": "record", "name": "Key", "fields": [{"name": "id", "type": "long"}]}
    key_id = schemas.client.register_schema(f"{topic}-key", Schema(json.dumps(key_schema), "AVRO"))

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True})
    expected: dict[int, tuple[Any, ...]] = {}
    lsn = 100
    for i in range(1, 201):
        lsn += 1
        row = {
            "id": i,
            "amount": Decimal(i) / 4,
            "placed": None,
            "tags": [f"t{i}"],
            "doc": {"n": i},
        }
        value = avro_change_value(
            table="public.orders", op="c", columns=COLUMNS, after=row, lsn=lsn
        )
        producer.produce(
            topic,
            key=frame_avro(key_id, key_schema, {"id": i}),
            value=frame_avro(schema_id, envelope, value),
        )
        expected[i] = (i, Decimal(i) / 4, [f"t{i}"], {"n": i})
    for i in range(1, 201, 4):
        lsn += 1
        before = {"id": i}
        value = avro_change_value(
            table="public.orders", op="d", columns=COLUMNS, before=before, lsn=lsn
        )
        producer.produce(
            topic,
            key=frame_avro(key_id, key_schema, before),
            value=frame_avro(schema_id, envelope, value),
        )
        producer.produce(topic, key=frame_avro(key_id, key_schema, before), value=None)
        del expected[i]
    assert producer.flush(30) == 0

    projection = Projection(
        "avro_view",
        tables={
            "orders": "CREATE TABLE {table} (id bigint PRIMARY KEY, amount numeric(12, 2),"
            " placed timestamp, tags text[], doc jsonb)"
        },
    )
    projection.mirror("public.orders", into="orders", key=["id"])
    runner = ProjectionRunner(
        projection,
        RunnerConfig(
            bootstrap_servers=kafka_bootstrap,
            dsn=pg_database,
            group_id=unique_name("g"),
            topics=(topic,),
            schema="read_model",
        ),
        decoder=Decoder(schema_lookup=schemas),
    )
    runners.append(runner)

    def rows() -> list[tuple[Any, ...]]:
        with psycopg.connect(pg_database) as conn:
            return conn.execute(
                "SELECT id, amount, tags, doc FROM read_model.orders ORDER BY id"
            ).fetchall()

    converge(runner, lambda: rows() == [expected[k] for k in sorted(expected)])
    assert runner.metrics().applied == 250
    assert runner.metrics().skipped == 50  # the tombstones
