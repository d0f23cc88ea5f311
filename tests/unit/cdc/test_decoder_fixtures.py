"""The decoder on records captured from the real stack (Debezium 3.6.1, PostgreSQL 15): every
kind of record, every column type, in each converter / decimal / time mode."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from eventyard.cdc import (
    UNAVAILABLE,
    ChangeEvent,
    ConnectSchema,
    Decoder,
    Heartbeat,
    MessageEvent,
    Op,
    Tombstone,
    TransactionEvent,
    TruncateEvent,
)
from eventyard.cdc.testing import column

EXPECTED_ROW: dict[str, Any] = {
    "id": 1,
    "small": -7,
    "i": 42,
    "n": Decimal("12345678.91"),
    "vn": Decimal("-0.000123456789"),
    "r": 1.5,
    "d": 2.25,
    "b": True,
    "t": "héllo",
    "vc": "short",
    "dt": date(2024, 2, 29),
    "tm": time(13, 45, 30, 123456),
    "tm3": time(13, 45, 30, 123000),
    "tmtz": time(11, 45, 30, 500000, tzinfo=UTC),
    "ts": datetime(2024, 2, 29, 13, 45, 30, 123456),
    "ts3": datetime(2024, 2, 29, 13, 45, 30, 123000),
    "tstz": datetime(2024, 2, 29, 11, 45, 30, 654321, tzinfo=UTC),
    "iv": timedelta(days=1, hours=2, minutes=3, seconds=4.5),
    "j": {"a": [1, 2]},
    "jb": {"b": {"c": None}},
    "u": UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    "m": "happy",
    "ia": [1, 2, 3],
    "ta": ["x", "y z"],
    "by": b"\x00\xff\x10",
    "big": "toast-" * 2000,
}

PLAIN_HINTS = {
    "public.kinds": {
        "n": column("decimal", scale=2),
        "vn": column("varscale"),
        "dt": column("date"),
        "tm": column("micro_time"),
        "tm3": column("time"),
        "tmtz": column("zoned_time"),
        "ts": column("micro_timestamp"),
        "ts3": column("timestamp"),
        "tstz": column("zoned_timestamp"),
        "iv": column("interval"),
        "j": column("json"),
        "jb": column("json"),
        "u": column("uuid"),
        "by": ConnectSchema(type="bytes"),
        "id": ConnectSchema(type="int64"),
    }
}


def _decoded(records: Any, variant: str, **options: Any) -> list[Any]:
    decoder = Decoder(**options)
    return [decoder.decode(m) for m in records(variant)]


def _kinds(events: list[Any]) -> list[Any]:
    return [e for e in events if e.position.topic == "shop.public.kinds"]


def _expected(variant: str) -> dict[str, Any]:
    row = dict(EXPECTED_ROW)
    if variant == "decimal_double":
        row["n"], row["vn"] = 12345678.91, -0.000123456789
        row["tm"] = time(13, 45, 30, 123000)  # time.precision.mode=connect keeps milliseconds
        row["ts"] = datetime(2024, 2, 29, 13, 45, 30, 123000)
    return row


@pytest.mark.parametrize("variant", ["json_schemas", "decimal_string", "decimal_double"])
def test_snapshot_row_decodes_every_column_type(records: Any, variant: str) -> None:
    snapshot = _kinds(_decoded(records, variant))[0]
    assert isinstance(snapshot, ChangeEvent)
    assert snapshot.op is Op.READ
    assert snapshot.source.is_snapshot
    assert snapshot.source.snapshot == "last"
    assert snapshot.key == {"id": 1}
    assert snapshot.before is None
    assert snapshot.after == _expected(variant)
    assert snapshot.table == "public.kinds"
    assert snapshot.columns is not None
    assert snapshot.columns.field_names[0] == "id"


def test_plain_json_keeps_raw_values_unless_hinted(records: Any) -> None:
    raw = _kinds(_decoded(records, "json_plain"))[0]
    assert raw.after["n"] == "SZYC0w=="  # base64 of the unscaled value: no schema, no scale
    assert raw.after["dt"] == 19782
    assert raw.columns is None
    hinted = _kinds(_decoded(records, "json_plain", hints=PLAIN_HINTS))[0]
    assert hinted.after == EXPECTED_ROW
    assert hinted.key == {"id": 1}


def test_the_stream_of_ops(records: Any, variant: str) -> None:
    events = _kinds(_decoded(records, variant))
    kinds = [
        e.op.value if isinstance(e, ChangeEvent | TruncateEvent) else type(e).__name__
        for e in events
    ]
    assert kinds == [
        "r",
        "c",
        "u",
        "u",
        "d",
        "Tombstone",
        "c",
        "c",
        "d",
        "Tombstone",
        "u",
        "u",
        "t",
    ]
    created, key_delete, key_create, after_alter = events[1], events[4], events[6], events[7]
    assert created.key == {"id": 2}
    assert created.source.commit_lsn is None
    # UPDATE kinds SET id = 3 WHERE id = 2: a delete and a create at the same LSN.
    assert key_delete.before["id"] == 2
    assert key_delete.after is None
    assert key_create.after["id"] == 3
    assert key_delete.source.lsn == key_create.source.lsn
    assert isinstance(events[5], Tombstone)
    assert events[5].key == {"id": 2}
    # ALTER TABLE kinds ADD COLUMN note text, then an insert: the new column arrives.
    assert after_alter.after["note"] == "after alter"
    if after_alter.columns is not None:
        assert "note" in after_alter.columns.field_names
        assert "note" not in created.columns.field_names
    truncate = events[-1]
    assert isinstance(truncate, TruncateEvent)
    assert truncate.table == "public.kinds"
    lsns = [e.source.lsn for e in events if isinstance(e, ChangeEvent | TruncateEvent)]
    assert lsns == sorted(lsn for lsn in lsns if lsn is not None)  # every one there, in order


def test_unchanged_toast_column_is_unavailable(records: Any, variant: str) -> None:
    update = _kinds(_decoded(records, variant))[2]
    assert update.op is Op.UPDATE
    assert update.after["i"] == 43
    assert update.after["big"] is UNAVAILABLE
    assert repr(update.after["big"]) == "UNAVAILABLE"
    assert update.before is None  # REPLICA IDENTITY DEFAULT: no before image


def test_key_change_create_carries_the_placeholder_too(records: Any) -> None:
    key_create = _kinds(_decoded(records, "json_schemas"))[6]
    assert key_create.op is Op.CREATE
    assert key_create.after["big"] is UNAVAILABLE


def test_updates_deletes_and_nulls(records: Any) -> None:
    events = _kinds(_decoded(records, "json_schemas"))
    second_update = events[3]
    assert second_update.after["n"] == Decimal("-0.01")
    assert second_update.after["vn"] == Decimal("1E-20")
    assert second_update.after["ts"] is None
    assert second_update.source.commit_lsn is not None
    assert second_update.source.commit_lsn < second_update.source.lsn
    in_transaction = events[10:12]
    assert {e.source.tx_id for e in in_transaction} == {in_transaction[0].source.tx_id}
    assert [e.transaction.total_order for e in in_transaction] == [1, 2]
    assert in_transaction[1].after["b"] is None


def test_heartbeats_transactions_and_logical_messages(records: Any, variant: str) -> None:
    events = _decoded(records, variant)
    heartbeats = [e for e in events if isinstance(e, Heartbeat)]
    assert heartbeats
    assert all(h.server_name == "shop" for h in heartbeats)
    assert [h.ts_ms for h in heartbeats] == sorted(h.ts_ms for h in heartbeats)
    transactions = [e for e in events if isinstance(e, TransactionEvent)]
    assert [t.status for t in transactions[:2]] == ["BEGIN", "END"]
    assert transactions[0].id.split(":")[0] == transactions[1].id.split(":")[0]
    assert transactions[1].event_count == 1
    assert transactions[1].data_collections == {"public.kinds": 1}
    messages = [e for e in events if isinstance(e, MessageEvent)]
    assert [(m.prefix, m.content, m.transactional) for m in messages] == [
        ("audit", b"who=ann", True),
        ("ping", b"\x00\x01", False),
    ]
    assert all(m.op is Op.MESSAGE for m in messages)


def test_decoding_is_repeatable_through_the_schema_cache(records: Any) -> None:
    decoder = Decoder(cache_size=2)
    messages = records("json_schemas")
    first = [decoder.decode(m) for m in messages]
    second = [decoder.decode(m) for m in messages]
    assert first == second
