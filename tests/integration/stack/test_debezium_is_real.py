"""Debezium, registered through Connect's REST API, streams a table's changes into Kafka."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg
from confluent_kafka import Message

from eventyard.stack import Stack, postgres_connector_config

Consume = Callable[..., list[Message]]


def _stream(connectors: Any, dsn: str, name: str, ddl: str, table: str) -> str:
    """Create ``table`` with ``ddl``, stream it through a new Debezium connector; its topic."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl)
    prefix, slot = f"dbz_{name}", f"slot_{name}"
    config = postgres_connector_config(dsn, prefix=prefix, slot=slot, tables=[f"public.{table}"])
    connectors.create(prefix, config, slot=slot)
    return f"{prefix}.public.{table}"


def _changes(messages: list[Message]) -> list[dict[str, Any]]:
    """Value payloads of change events (tombstones, whose value is null, left out)."""
    return [json.loads(m.value() or b"null")["payload"] for m in messages if m.value()]


def test_insert_update_delete_arrive_with_the_debezium_envelope(
    pg_database: str,
    connectors: Any,
    consume: Consume,
    unique_name: Callable[[str], str],
) -> None:
    ddl = "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)"
    topic = _stream(connectors, pg_database, unique_name("items"), ddl, "items")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("INSERT INTO items VALUES (1, 'apple')")
        conn.execute("UPDATE items SET name = 'pear' WHERE id = 1")
        conn.execute("DELETE FROM items WHERE id = 1")

    # c, u, d and the tombstone that follows a delete.
    messages = consume(topic, 4, timeout_s=90)
    events = _changes(messages)
    assert [e["op"] for e in events] == ["c", "u", "d"]
    created, updated, deleted = events
    assert created["before"] is None
    assert created["after"] == {"id": 1, "name": "apple"}
    assert updated["after"] == {"id": 1, "name": "pear"}
    assert deleted["before"]["id"] == 1
    assert deleted["after"] is None
    lsns = [e["source"]["lsn"] for e in events]
    assert all(isinstance(lsn, int) for lsn in lsns)
    assert lsns == sorted(lsns)
    assert {e["source"]["table"] for e in events} == {"items"}
    assert messages[-1].value() is None  # the tombstone
    assert json.loads(messages[-1].key() or b"{}")["payload"] == {"id": 1}


def test_connect_killed_mid_stream_resumes_without_losing_a_change(
    pg_database: str,
    connectors: Any,
    consume: Consume,
    unique_name: Callable[[str], str],
    local_stack: Stack,
) -> None:
    ddl = "CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)"
    name = unique_name("counters")
    topic = _stream(connectors, pg_database, name, ddl, "counters")

    def write(ids: range) -> None:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            for i in ids:
                conn.execute("INSERT INTO counters VALUES (%s, 0)", (i,))
                conn.execute("UPDATE counters SET n = 1 WHERE id = %s", (i,))

    write(range(0, 50))
    assert len(consume(topic, 100, timeout_s=90)) == 100

    local_stack.kill("connect")
    write(range(50, 100))  # written while no worker reads the slot
    local_stack.up(["connect"])
    connectors.wait_running(f"dbz_{name}")
    write(range(100, 150))

    wanted = {(i, op) for i in range(150) for op in ("c", "u")}

    def seen(messages: list[Message]) -> set[tuple[int, str]]:
        return {(e["after"]["id"], e["op"]) for e in _changes(messages)}

    messages = consume(topic, 10_000, timeout_s=120, until=lambda got: seen(got) >= wanted)
    events = _changes(messages)
    assert seen(messages) == wanted
    # A crash may replay what was sent but not yet recorded as read; nothing is lost.
    assert len(events) >= 300


def test_restart_connect_cleanly_keeps_streaming(
    pg_database: str,
    connectors: Any,
    consume: Consume,
    unique_name: Callable[[str], str],
    local_stack: Stack,
) -> None:
    name = unique_name("notes")
    topic = _stream(
        connectors, pg_database, name, "CREATE TABLE notes (id int PRIMARY KEY)", "notes"
    )
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("INSERT INTO notes SELECT generate_series(1, 10)")
    local_stack.restart("connect")
    connectors.wait_running(f"dbz_{name}")
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("INSERT INTO notes SELECT generate_series(11, 20)")
    events = _changes(consume(topic, 20, timeout_s=120))
    assert sorted({e["after"]["id"] for e in events}) == list(range(1, 21))
