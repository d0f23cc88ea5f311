"""Records that are not ordinary change events: schema changes, Avro, and bad input whose error
names what is wrong and where."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from confluent_kafka.schema_registry import Schema

from eventyard.cdc import (
    UNAVAILABLE,
    ChangeEvent,
    DecodeError,
    Decoder,
    Heartbeat,
    RegistrySchemas,
    SchemaChange,
    Tombstone,
)
from eventyard.cdc.testing import (
    avro_change_value,
    avro_envelope_schema,
    change_record,
    column,
    frame_avro,
    message,
)

COLUMNS = {
    "id": column("int64", optional=False),
    "amount": column("decimal", scale=2),
    "note": column("string"),
    "payload": column("json"),
}


def test_schema_change_topic_record() -> None:
    fixture = json.loads((Path(__file__).parent / "fixtures" / "schema_change.json").read_text())
    event = Decoder().decode(
        message(
            fixture["topic"],
            orjson.dumps(fixture["value"]),
            key=orjson.dumps(fixture["key"]),
            offset=3,
        )
    )
    assert isinstance(event, SchemaChange)
    assert event.database == "inventory"
    assert event.ddl == "ALTER TABLE customers ADD COLUMN middle_name VARCHAR(255)"
    (change,) = event.table_changes
    assert (change.type, change.primary_key) == ("ALTER", ("id",))
    assert [c["name"] for c in change.columns] == ["id", "middle_name"]
    assert event.source is not None
    assert event.source.raw["pos"] == 1234


def test_a_column_named_payload_and_odd_schema_parameters_still_decode() -> None:
    columns = {**COLUMNS, "odd": column("string")}
    key, value = change_record(
        table="public.t",
        op="c",
        columns=columns,
        after={
            "id": 1,
            "amount": Decimal("9.99"),
            "note": ',"payload":',
            "payload": {"x": 1},
            "odd": "y",
        },
    )
    document = json.loads(value)
    # Parameters containing the separator the fast path looks for: the slow path takes over.
    document["schema"]["fields"][1]["fields"][4]["parameters"] = {',"payload":': "1"}
    event = Decoder().decode(
        message("t", json.dumps(document, separators=(",", ":")).encode(), key=key)
    )
    assert isinstance(event, ChangeEvent)
    assert event.after == {
        "id": 1,
        "amount": Decimal("9.99"),
        "note": ',"payload":',
        "payload": {"x": 1},
        "odd": "y",
    }


def test_tombstone_and_heartbeat_without_schemas() -> None:
    decoder = Decoder()
    tombstone = decoder.decode(message("shop.public.t", None, key=b'{"id": 4}', offset=9))
    assert tombstone == Tombstone(key={"id": 4}, position=tombstone.position)
    beat = decoder.decode(
        message("__debezium-heartbeat.shop", b'{"ts_ms": 5}', key=b'{"serverName": "shop"}')
    )
    assert isinstance(beat, Heartbeat)
    assert beat.ts_ms == 5
    assert beat.server_name == "shop"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (b"\x01 not json", "neither JSON nor Confluent wire-format Avro"),
        (b"[1, 2]", "expected a JSON object or Avro record, got list"),
        (b'{"hello": 1}', "not a Debezium record"),
        (b'{"op": "x", "source": {"schema": "s", "table": "t"}}', "unknown op 'x'"),
        (b'{"op": "c", "after": {}}', "needs a 'source' object"),
        (b"\x00\x00\x00\x00\x07rest", "needs a schema_lookup"),
        (b"\x00\x00", "shorter than its 5-byte header"),
    ],
)
def test_bad_records_say_what_and_where(value: bytes, problem: str) -> None:
    with pytest.raises(DecodeError) as caught:
        Decoder().decode(message("shop.public.t", value, partition=2, offset=41))
    assert problem in str(caught.value)
    assert "shop.public.t[2]@41" in str(caught.value)
    assert caught.value.position is not None
    assert caught.value.position.offset == 41


def test_a_bad_column_value_names_the_field() -> None:
    key, value = change_record(
        table="public.t", op="c", columns=COLUMNS, after={"id": 1, "amount": Decimal("1.00")}
    )
    document = json.loads(value)
    document["payload"]["after"]["amount"] = "%%%"
    broken = json.dumps(document).encode()
    with pytest.raises(DecodeError) as caught:
        Decoder().decode(message("t", broken, key=key, offset=7))
    assert caught.value.field == "after.amount"
    assert "org.apache.kafka.connect.data.Decimal" in str(caught.value)


def test_avro_records_through_a_schema_lookup() -> None:
    schema = avro_envelope_schema("public.t", COLUMNS)
    value = avro_change_value(
        table="public.t",
        op="u",
        columns=COLUMNS,
        after={
            "id": 5,
            "amount": Decimal("-12.34"),
            "note": "__debezium_unavailable_value",
            "payload": [1, "two"],
        },
        lsn=77,
    )
    lookups: list[int] = []

    def lookup(schema_id: int) -> str:
        lookups.append(schema_id)
        if schema_id != 12:
            raise LookupError("nope")
        return json.dumps(schema)

    decoder = Decoder(schema_lookup=lookup)
    framed = frame_avro(12, schema, value)
    event = decoder.decode(message("t", framed, key=frame_avro(12, schema, value), offset=1))
    again = decoder.decode(message("t", framed, offset=2))
    assert isinstance(event, ChangeEvent)
    assert isinstance(again, ChangeEvent)
    assert event.after == {
        "id": 5,
        "amount": Decimal("-12.34"),
        "note": UNAVAILABLE,
        "payload": [1, "two"],
    }
    assert event.source.lsn == 77
    assert lookups == [12]  # cached
    with pytest.raises(DecodeError, match="unknown Avro schema id 13"):
        decoder.decode(message("t", frame_avro(13, schema, value)))
    with pytest.raises(DecodeError, match="does not match its writer schema 12"):
        decoder.decode(message("t", framed[:12]))


def test_registry_schemas_with_confluent_in_memory_registry() -> None:
    registry = RegistrySchemas("mock://eventyard-cdc-unit")
    schema = avro_envelope_schema("public.t", COLUMNS)
    schema_id = registry.client.register_schema("t-value", Schema(json.dumps(schema), "AVRO"))
    value = avro_change_value(
        table="public.t", op="c", columns=COLUMNS, after={"id": 1, "amount": Decimal("0.5")}
    )
    event: Any = Decoder(schema_lookup=registry).decode(
        message("t", frame_avro(schema_id, schema, value))
    )
    assert event.after["amount"] == Decimal("0.50")
    with pytest.raises(DecodeError, match="unknown Avro schema id"):
        Decoder(schema_lookup=registry).decode(message("t", frame_avro(999, schema, value)))


def _with_sequence(sequence: str | None) -> Any:
    key, value = change_record(table="public.t", op="c", columns=COLUMNS, after={"id": 1})
    document = json.loads(value)
    document["payload"]["source"]["sequence"] = sequence
    return Decoder().decode(message("t", json.dumps(document).encode(), key=key))


@pytest.mark.parametrize(
    ("sequence", "commit_lsn"),
    [
        ('["24023128","24023184"]', 24023128),
        ('[null,"24023184"]', None),  # the first change a connector streams
        ("[24023128, 24023184]", 24023128),
        (None, None),
    ],
)
def test_the_commit_lsn_is_the_first_element_of_the_source_sequence(
    sequence: str | None, commit_lsn: int | None
) -> None:
    event = _with_sequence(sequence)
    assert isinstance(event, ChangeEvent)
    assert event.source.commit_lsn == commit_lsn


def test_a_source_sequence_that_is_not_a_json_list_is_named() -> None:
    with pytest.raises(DecodeError, match=r"source\.sequence"):
        _with_sequence('[null,"24023184"')
