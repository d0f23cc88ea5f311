"""Debezium mode: 10,000 events while Connect restarts and is killed; each is applied once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from eventyard.outbox import DebeziumConnector
from eventyard.stack import Stack, drop_replication_slot

Until = Callable[..., None]


def test_connect_restarted_and_killed_mid_stream_loses_nothing_and_applies_once(
    harness: Any,
    local_stack: Stack,
    connect_url: str,
    unique_name: Callable[[str], str],
    until: Until,
) -> None:
    connector = DebeziumConnector(
        name=unique_name("dbz"),
        dsn=harness.dsn,
        table=harness.table,
        router=harness.router,
        topic_prefix=unique_name("cdc"),
    )

    # A restarted worker may come back on another port (if its own was taken meanwhile).
    def url() -> str:
        return local_stack.endpoints().get("EVENTYARD_CONNECT_URL", connect_url)

    connector.register(url())
    try:
        harness.effects_table()
        consumer, consumer_thread = harness.inbox_consumer(harness.topic)
        stream = harness.stream(
            count=10_000, aggregates=100, pause_s=0.02, delete_after_insert=True
        )
        until(lambda: stream.progress >= 3000, "30% of the stream")
        local_stack.restart("connect")
        connector.register(url())  # idempotent: waits until it runs again
        until(lambda: stream.progress >= 6000, "60% of the stream")
        local_stack.kill("connect")
        local_stack.up(["connect"])
        connector.register(url())
        stream.wait()
        ids = set(stream.published)
        messages = harness.read_topic(harness.topic, ids)
        assert harness.first_deliveries(messages) == stream.expected
        until(lambda: harness.effects()["count"] >= 10_000, "the inbox to apply every event", 300)
        consumer.stop()
        consumer_thread.join(60)
        effects = harness.effects()
        assert effects["count"] == effects["distinct"] == 10_000
        assert effects["checksum"] == harness.expected_checksum(ids)
        assert effects["order"] == stream.expected
        with harness.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM outbox")).scalar() == 0
    finally:
        connector.unregister(url())
        drop_replication_slot(harness.dsn, connector.slot_name, timeout_s=60)
