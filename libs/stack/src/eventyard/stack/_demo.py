"""The visible round trip: a row written to PostgreSQL appears on Kafka through Debezium."""

from __future__ import annotations

import json
import time
import uuid

import psycopg
from confluent_kafka import Consumer
from psycopg import sql
from rich.console import Console
from rich.table import Table

from eventyard.kafka.connect import postgres_connector_config
from eventyard.stack._connect_client import ConnectClient, drop_replication_slot
from eventyard.stack._endpoints import Endpoints

__all__ = ["run_demo"]

_DATABASE = "eventyard_demo"

#: What the demo commits, one statement at a time, and how it names each.
_STATEMENTS = (
    ("INSERT INTO {} VALUES (1, 'hello, Kafka')", "an INSERT"),
    ("UPDATE {} SET text = 'hello again' WHERE id = 1", "an UPDATE"),
    ("DELETE FROM {} WHERE id = 1", "a DELETE"),
)


def _ensure_database(pg_dsn: str) -> str:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (_DATABASE,))
        if exists.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(_DATABASE)))
    info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    info["dbname"] = _DATABASE
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


def _execute(dsn: str, statement: str, *identifiers: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL(statement).format(*(sql.Identifier(i) for i in identifiers)))


def _commit_changes(dsn: str, table: str, console: Console) -> list[float]:
    """Step 3: commit each statement; when each one committed."""
    committed: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement, label in _STATEMENTS:
            conn.execute(sql.SQL(statement).format(sql.Identifier(table)))
            committed.append(time.monotonic())
            console.print(f"3. PostgreSQL: committed {label}")
    return committed


def _collect_events(consumer: Consumer, topic: str, committed: list[float]) -> tuple[Table, int]:
    """The change events as they arrive (up to 60 s), in a table; how many arrived."""
    results = Table(
        title=f"change events on Kafka topic {topic}",
        caption="time from commit to this consumer, first group join included",
    )
    for column in ("op", "before", "after", "source.lsn", "on Kafka after"):
        results.add_column(column)
    deadline = time.monotonic() + 60
    events = 0
    while events < len(committed) and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error() or message.value() is None:
            continue
        payload = json.loads(message.value() or b"{}")["payload"]
        latency_ms = (time.monotonic() - committed[events]) * 1000
        results.add_row(
            payload["op"],
            json.dumps(payload["before"]),
            json.dumps(payload["after"]),
            str(payload["source"]["lsn"]),
            f"{latency_ms:.0f} ms",
        )
        events += 1
    return results, events


def run_demo(endpoints: Endpoints, console: Console) -> int:
    """Insert, update and delete a row; print each change event as it arrives on Kafka."""
    assert endpoints.pg_dsn, "the demo needs PostgreSQL"
    assert endpoints.kafka_bootstrap, "the demo needs Kafka"
    assert endpoints.connect_url, "the demo needs Kafka Connect"
    run = uuid.uuid4().hex[:8]
    name, table = f"eventyard_demo_{run}", f"greetings_{run}"
    dsn = _ensure_database(endpoints.pg_dsn)
    topic = f"{name}.public.{table}"
    config = postgres_connector_config(
        dsn=dsn, slot=name, topic_prefix=name, tables=[f"public.{table}"]
    )
    connect = ConnectClient(endpoints.connect_url)
    consumer = Consumer(
        {
            "bootstrap.servers": endpoints.kafka_bootstrap,
            "group.id": name,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        _execute(dsn, "CREATE TABLE {} (id int PRIMARY KEY, text text NOT NULL)", table)
        console.print(f"1. PostgreSQL: created table [bold]{table}[/bold] in {_DATABASE}")
        connect.put(name, config)
        connect.wait_running(name)
        console.print(f"2. Kafka Connect: Debezium connector [bold]{name}[/bold] is running")
        consumer.subscribe([topic])
        committed = _commit_changes(dsn, table, console)
        results, events = _collect_events(consumer, topic, committed)
        console.print(results)
        if events < len(committed):
            console.print(f"[red]only {events} of {len(committed)} change events arrived[/red]")
            return 1
        console.print("[green]4. every change reached Kafka through Debezium[/green]")
        return 0
    finally:
        consumer.close()
        connect.delete(name)
        connect.close()
        drop_replication_slot(dsn, name)
        _execute(dsn, "DROP TABLE IF EXISTS {}", table)
        _execute(dsn, "DROP PUBLICATION IF EXISTS {}", config["publication.name"])
