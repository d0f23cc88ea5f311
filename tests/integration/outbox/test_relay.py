"""The polling relay against real PostgreSQL and Kafka."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic  # type: ignore[attr-defined]
from opentelemetry.sdk.trace import TracerProvider
from psycopg import sql
from sqlalchemy.orm import Session

from eventyard.outbox import (
    Cleanup,
    ConfigError,
    Event,
    Outbox,
    OutboxTable,
    PostgresOutboxStore,
    TopicRouter,
    create_outbox_schema,
)
from tests.support.eventually import eventually
from tests.support.kafka import text_headers

Consume = Callable[..., list[Any]]


def event(aggregate: str, n: int, payload: Any = None) -> Event:
    return Event(
        aggregate_type="order",
        aggregate_id=aggregate,
        type="Placed",
        payload={"n": n} if payload is None else payload,
    )


def numbers(messages: list[Any]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for m in messages:
        seen.setdefault(m.key().decode(), []).append(json.loads(m.value())["n"])
    return seen


def test_rows_arrive_keyed_by_aggregate_with_the_envelope_and_the_trace(
    outbox_db: Any, start_relay: Any, router: TopicRouter, consume: Consume
) -> None:
    provider = TracerProvider()
    outbox = Outbox(table=outbox_db.table, router=router, tracer_provider=provider)
    with (
        provider.get_tracer("t").start_as_current_span("POST /orders"),
        Session(outbox_db.engine) as session,
        session.begin(),
    ):
        records = outbox.publish_all(session, [event(f"o-{i % 3}", i) for i in range(30)])
    start_relay("r1")
    got = consume(router.topic("order"), 30, timeout_s=60)
    assert numbers(got) == {f"o-{k}": list(range(k, 30, 3)) for k in range(3)}
    by_id = {str(r.id): r for r in records}
    for message in got:
        headers = text_headers(message)
        record = by_id[str(headers["id"])]
        assert message.key() == record.aggregate_id.encode()
        assert message.value() == record.payload
        assert headers["eventType"] == "Placed"
        assert headers["aggregateType"] == "order"
        assert headers["contentType"] == "application/json"
        assert headers["traceparent"] == record.traceparent is not None or headers["traceparent"]
        assert headers["traceparent"] == record.traceparent
        assert json.loads(str(headers["eventyard.headers"]))["traceparent"] == record.traceparent
    assert outbox_db.scalar("SELECT count(*) FROM outbox") == 0  # deleted after the acks


def test_notify_wakes_the_relay_long_before_its_poll_interval(
    outbox_db: Any, start_relay: Any, router: TopicRouter, consume: Consume
) -> None:
    relay = start_relay("r1", poll_interval=120.0, rebalance_interval=120.0)
    while len(relay.status().partitions) < outbox_db.table.partitions:
        time.sleep(0.05)
    time.sleep(0.5)  # the relay is asleep in wait(): only a NOTIFY can wake it within 60 s
    outbox = Outbox(table=outbox_db.table, router=router)
    with Session(outbox_db.engine) as session, session.begin():
        outbox.publish(session, event("a", 1))
    assert len(consume(router.topic("order"), 1, timeout_s=60)) == 1


def test_a_row_committed_late_with_a_smaller_seq_is_neither_skipped_nor_reordered(
    outbox_db: Any, start_relay: Any, router: TopicRouter, consume: Consume
) -> None:
    outbox = Outbox(table=outbox_db.table, router=router)
    relay = start_relay("r1", poll_interval=0.1)
    with Session(outbox_db.engine) as slow, slow.begin():
        outbox.publish(slow, event("x", 1))  # takes the smaller seq ...
        with Session(outbox_db.engine) as quick, quick.begin():
            outbox.publish(quick, event("x", 2))  # ... this one commits first
        for _ in range(20):
            relay.step  # noqa: B018 - the relay runs in its thread; give it rounds to misbehave
            time.sleep(0.05)
        assert relay.status().published == 0  # held back above the safe horizon
    got = consume(router.topic("order"), 2, timeout_s=60)
    assert numbers(got) == {"x": [1, 2]}
    seqs = outbox_db.scalar("SELECT count(*) FROM outbox")
    assert seqs == 0


def test_a_long_transaction_that_never_writes_to_the_outbox_does_not_hold_rows_back(
    outbox_db: Any, start_relay: Any, router: TopicRouter, consume: Consume
) -> None:
    start_relay("r1")
    outbox = Outbox(table=outbox_db.table, router=router)
    with psycopg.connect(outbox_db.dsn) as report:
        # A transaction with an id, open throughout: in every snapshot's in-progress list.
        report.execute("SELECT pg_current_xact_id()")
        for n in range(3):
            with Session(outbox_db.engine) as session, session.begin():
                outbox.publish(session, event("y", n))
        got = consume(router.topic("order"), 3, timeout_s=30)
        assert report.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    assert numbers(got) == {"y": [0, 1, 2]}


def test_a_table_from_an_older_schema_version_is_refused_with_the_fix(outbox_db: Any) -> None:
    table = outbox_db.table
    with psycopg.connect(outbox_db.dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("COMMENT ON TABLE {} IS {}").format(
                sql.Identifier(table.schema, table.name),
                json.dumps({"eventyard.outbox": {"version": 1, "partitions": table.partitions}}),
            )
        )
    store = PostgresOutboxStore(outbox_db.dsn, table=table)
    with pytest.raises(ConfigError, match="run create_outbox_schema again"):
        store.connect("old")
    with psycopg.connect(outbox_db.dsn, autocommit=True) as conn:
        create_outbox_schema(conn, outbox=table)
    store.connect("upgraded").close()


def test_retention_keeps_published_rows_then_removes_them(
    outbox_db: Any, start_relay: Any, router: TopicRouter, consume: Consume
) -> None:
    keep = PostgresOutboxStore(
        outbox_db.dsn, table=outbox_db.table, cleanup=Cleanup(retention=timedelta(hours=1))
    )
    relay = start_relay("r1", store=keep)
    outbox = Outbox(table=outbox_db.table, router=router)
    with Session(outbox_db.engine) as session, session.begin():
        outbox.publish_all(session, [event("a", n) for n in range(5)])
    consume(router.topic("order"), 5, timeout_s=60)
    while relay.status().published < 5:
        time.sleep(0.05)
    assert outbox_db.scalar("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL") == 5
    with keep.connect("cleanup") as store_session:
        assert store_session.cleanup(timedelta(hours=1)) == 0
        assert store_session.cleanup(timedelta(0)) == 5
    assert outbox_db.scalar("SELECT count(*) FROM outbox") == 0


def test_time_partitioned_outbox_drops_whole_partitions(
    pg_database: str, start_relay: Any, router: TopicRouter, consume: Consume, sa_url: Any
) -> None:
    table = OutboxTable(name="events", time_partitioned=True, partitions=4)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        create_outbox_schema(conn, outbox=table)
    store = PostgresOutboxStore(
        pg_database, table=table, cleanup=Cleanup(retention=timedelta(days=1))
    )
    engine = sa.create_engine(sa_url(pg_database))
    start_relay("r1", store=store)
    with Session(engine) as session, session.begin():
        Outbox(table=table, router=router).publish_all(session, [event("a", n) for n in range(3)])
    assert len(consume(router.topic("order"), 3, timeout_s=60)) == 3
    eventually(  # the acks are in; the marks follow
        lambda: not unpublished(pg_database),
        timeout=30,
        interval=0.05,
        description="every row marked published",
    )
    with psycopg.connect(pg_database, autocommit=True) as conn:
        # An old day's partition; move the published rows there, as if they were that old.
        conn.execute(
            "CREATE TABLE public.events_p20000101 PARTITION OF public.events "
            "FOR VALUES FROM ('2000-01-01 00:00+00') TO ('2000-01-02 00:00+00')"
        )
        conn.execute("UPDATE public.events SET created_at = '2000-01-01 12:00+00'")
        parts = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass"
        ).fetchone()
    with store.connect("cleanup") as store_session:
        removed = store_session.cleanup(timedelta(days=1))
    assert removed == 3
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT to_regclass('public.events_p20000101')").fetchone() == (None,)
        after = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass"
        ).fetchone()
    assert parts is not None
    assert after is not None
    assert after[0] == parts[0] - 1
    engine.dispose()


def unpublished(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM public.events WHERE published_at IS NULL"
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_message_kafka_refuses_is_set_aside_and_the_rest_goes_on(
    outbox_db: Any,
    start_relay: Any,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    consume: Consume,
) -> None:
    topic = unique_name("small")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics(
        [
            NewTopic(
                topic, num_partitions=1, replication_factor=1, config={"max.message.bytes": "2000"}
            )
        ]
    )[topic].result(30)
    router = TopicRouter(template=topic)
    relay = start_relay("r1", router=router)
    outbox = Outbox(table=outbox_db.table, router=router)
    with Session(outbox_db.engine) as session, session.begin():
        outbox.publish(session, event("a", 1))
        outbox.publish(session, event("a", 2, payload={"n": 2, "pad": "x" * 5000}))
        outbox.publish(session, event("a", 3))
    got = consume(topic, 2, timeout_s=60)
    assert numbers(got) == {"a": [1, 3]}
    while relay.status().set_aside < 1:
        time.sleep(0.05)
    with psycopg.connect(outbox_db.dsn) as conn:
        row = conn.execute(
            "SELECT payload, error FROM outbox WHERE failed_at IS NOT NULL"
        ).fetchone()
    assert row is not None
    assert json.loads(row[0])["n"] == 2
    assert "too large" in row[1].lower() or "MSG_SIZE" in row[1]
    admin.delete_topics([topic])
    _ = ConfigResource  # (imported for completeness of the admin API used above)


def _relay_env(
    outbox_db: Any, kafka_bootstrap: str, router: TopicRouter, port: int
) -> dict[str, str]:
    return {
        **os.environ,
        "EVENTYARD_OUTBOX_DSN": outbox_db.dsn,
        "EVENTYARD_OUTBOX_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EVENTYARD_OUTBOX_PARTITIONS": str(outbox_db.table.partitions),
        "EVENTYARD_OUTBOX_TOPIC_TEMPLATE": router.template,
        "EVENTYARD_OUTBOX_POLL_INTERVAL_S": "0.2",
        "EVENTYARD_OUTBOX_HEALTH_PORT": str(port),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_cli_relay_serves_health_and_sigterm_stops_it_cleanly(
    outbox_db: Any, kafka_bootstrap: str, router: TopicRouter, consume: Consume
) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "eventyard.outbox", "relay", "--name", "cli-relay"],
        env=_relay_env(outbox_db, kafka_bootstrap, router, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:

        def ready() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                return bool(json.loads(r.read())["ready"])

        eventually(ready, timeout=60, description="the relay's /readyz")
        outbox = Outbox(table=outbox_db.table, router=router)
        with Session(outbox_db.engine) as session, session.begin():
            outbox.publish_all(session, [event("a", n) for n in range(20)])
        assert numbers(consume(router.topic("order"), 20, timeout_s=60)) == {"a": list(range(20))}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert "eventyard_outbox_published_total 20.0" in r.read().decode()
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output.decode()
    assert b"relay stopped" in output
    # Its session is gone: every partition is free for the next relay.
    store = PostgresOutboxStore(outbox_db.dsn, table=outbox_db.table)
    with store.connect("next") as store_session:
        assert all(store_session.try_acquire(p) for p in range(outbox_db.table.partitions))


def test_cli_migrate_and_status(pg_database: str) -> None:
    run = [sys.executable, "-m", "eventyard.outbox"]
    done = subprocess.run(
        [*run, "migrate", "--dsn", pg_database, "--partitions", "4", "--inbox", "inbox"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    again = subprocess.run(
        [*run, "migrate", "--dsn", pg_database, "--partitions", "4"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    status = subprocess.run(
        [*run, "status", "--dsn", pg_database, "--partitions", "4"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["pending"] == 0
    assert document["relays"] == 0
    assert document["unowned_partitions"] == [0, 1, 2, 3]
    wrong = subprocess.run(
        [*run, "status", "--dsn", pg_database, "--partitions", "8"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode == 2
    assert "has 4 partitions" in wrong.stderr
    missing = subprocess.run(
        [*run, "status", "--dsn", pg_database, "--table", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "nope" in missing.stderr
