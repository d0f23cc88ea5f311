"""DDL generation: names checked, Debezium's column names, the helpers the relay relies on."""

from __future__ import annotations

import json
from datetime import date

import pytest

from eventyard.outbox import (
    ConfigError,
    InboxTable,
    OutboxTable,
    create_outbox_schema,
    drop_outbox_schema,
    inbox_ddl,
    outbox_ddl,
    outbox_partition_ddl,
)


class RecordingOp:
    """Stands in for Alembic's ``op``: records what it is asked to execute."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def execute(self, sqltext: str, /) -> object:
        self.statements.append(sqltext)
        return None


def test_the_outbox_has_debeziums_columns_and_the_relays_own() -> None:
    create = next(s for s in outbox_ddl() if s.startswith('CREATE TABLE IF NOT EXISTS "public"'))
    for column in (
        "id uuid NOT NULL",
        "aggregatetype text NOT NULL",
        "aggregateid text NOT NULL",
        "type text NOT NULL",
        "payload bytea",
        "headers jsonb",
        "created_at timestamptz",
        "seq bigint NOT NULL DEFAULT",
        "vpart smallint GENERATED ALWAYS AS",
        "traceparent text",
    ):
        assert column in create, column


def test_the_seq_comes_after_the_writer_lock_and_a_transaction_id() -> None:
    function = next(s for s in outbox_ddl() if '_next_seq"() RETURNS bigint' in s)
    assert function.index("pg_advisory_xact_lock_shared") < function.index("nextval")
    assert function.index("pg_current_xact_id") < function.index("nextval")


def test_the_snapshot_reads_the_sequence_before_the_transactions_in_progress() -> None:
    function = next(s for s in outbox_ddl() if '_snapshot"(' in s and "FUNCTION" in s)
    assert function.index("last_value") < function.index("backend_xid")


def test_the_table_comment_records_partitions_and_lock_namespace() -> None:
    table = OutboxTable(name="events", schema="shop", partitions=16)
    comment = next(s for s in outbox_ddl(table) if s.startswith("COMMENT ON TABLE"))
    meta = json.loads(comment.split(" IS ", 1)[1].strip("'"))["eventyard.outbox"]
    assert meta == {"version": 2, "partitions": 16, "lock_namespace": table.lock_namespace}
    assert table.lock_namespace != OutboxTable().lock_namespace
    assert 0 <= table.lock_namespace < 2**31


def test_notify_trigger_is_optional() -> None:
    assert any("pg_notify" in s for s in outbox_ddl(OutboxTable()))
    assert not any("pg_notify" in s for s in outbox_ddl(OutboxTable(notify=False)))


def test_time_partitioning() -> None:
    table = OutboxTable(time_partitioned=True)
    statements = outbox_ddl(table)
    create = next(s for s in statements if 'CREATE TABLE IF NOT EXISTS "public"."outbox" (' in s)
    assert "PARTITION BY RANGE (created_at)" in create
    assert "PRIMARY KEY (seq, created_at)" in create
    assert any("PARTITION OF" in s and "DEFAULT" in s for s in statements)
    assert any(s.startswith("DO $do$") and "_p' || to_char" in s for s in statements)
    day = outbox_partition_ddl(table, date(2026, 1, 31))
    assert '"outbox_p20260131"' in day
    assert "FROM ('2026-01-31 00:00+00') TO ('2026-02-01 00:00+00')" in day
    with pytest.raises(ConfigError, match="not time-partitioned"):
        outbox_partition_ddl(OutboxTable(), date(2026, 1, 1))


def test_autovacuum_settings_go_on_the_table() -> None:
    create = next(s for s in outbox_ddl() if s.startswith('CREATE TABLE IF NOT EXISTS "public"'))
    assert "autovacuum_vacuum_scale_factor = 0" in create


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "Outbox"},
        {"name": "out box"},
        {"name": 'x"; DROP TABLE y; --'},
        {"schema": "a.b"},
        {"partitions": 0},
        {"partitions": 5000},
        {"autovacuum": {"fillfactor": "90; DROP"}},
    ],
)
def test_bad_names_and_settings_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        OutboxTable(**kwargs)  # type: ignore[arg-type]


def test_inbox_ddl() -> None:
    (schema, create, index) = inbox_ddl(InboxTable(name="billing_inbox"))
    assert "CREATE SCHEMA" in schema
    assert "PRIMARY KEY (consumer, message_id)" in create
    assert "received_at" in index
    with pytest.raises(ConfigError):
        InboxTable(name="bad-name")


def test_the_alembic_helper_emits_the_same_ddl_through_op_execute() -> None:
    op = RecordingOp()
    create_outbox_schema(op, outbox=OutboxTable(), inbox=InboxTable(), debezium_heartbeat=True)
    expected = outbox_ddl(OutboxTable(), debezium_heartbeat=True) + inbox_ddl(InboxTable())
    assert op.statements == expected
    down = RecordingOp()
    drop_outbox_schema(down, outbox=OutboxTable(), inbox=InboxTable())
    assert any('DROP TABLE IF EXISTS "public"."outbox"' in s for s in down.statements)
    assert any('DROP TABLE IF EXISTS "public"."inbox"' in s for s in down.statements)
