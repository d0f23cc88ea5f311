"""Two runners in one group over a 3-partition topic: members join and leave while changes flow;
the projection ends equal to the source and no event's effect was applied twice."""

# ruff: noqa: S608 - the SQL is built from the projection's own quoted table names

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from eventyard.cdc import ApplyContext, Projection, ProjectionRunner, RunnerConfig, TableEvent

TABLE = "CREATE TABLE items (id int PRIMARY KEY, n int NOT NULL, label text NOT NULL)"
LOG = 'CREATE TABLE {table} (topic text, partition int, "offset" bigint)'


def _projection() -> Projection:
    projection = Projection(
        "items_view",
        tables={
            "items": "CREATE TABLE {table} (id int PRIMARY KEY, n int, label text)",
            "applied": LOG,
        },
    )
    projection.mirror("public.items", into="items", key=["id"])

    @projection.on_batch("public.items")
    def log(ctx: ApplyContext, events: Sequence[TableEvent]) -> None:
        with ctx.conn.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {ctx.table('applied').as_string(ctx.conn)} VALUES (%s, %s, %s)",
                [(e.position.topic, e.position.partition, e.position.offset) for e in events],
            )

    return projection


def _write(source: Any, start: int, count: int) -> None:
    for first in range(start, start + count, 50):
        ids = (first, min(first + 50, start + count) - 1)
        source.sql(
            "INSERT INTO items SELECT i, 0, 'new' FROM generate_series(%s::int, %s::int) i", ids
        )
        source.sql("UPDATE items SET n = n + 1 WHERE id BETWEEN %s AND %s", ids)
        source.sql("DELETE FROM items WHERE id BETWEEN %s AND %s AND id %% 10 = 0", ids)


def test_members_joining_and_leaving_apply_each_event_once(
    source: Any, kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    source.sql(TABLE)
    topic = source.topic("public.items")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    source.connect(["public.items"])
    config = RunnerConfig(
        bootstrap_servers=kafka_bootstrap,
        dsn=source.dsn,
        group_id=unique_name("g"),
        topics=(topic,),
        schema="read_model",
        batch_size=100,
        consumer_config={"session.timeout.ms": 10_000, "heartbeat.interval.ms": 1000},
    )
    first, second = ProjectionRunner(_projection(), config), ProjectionRunner(_projection(), config)
    stops = [threading.Event(), threading.Event()]

    def run(runner: ProjectionRunner, stop: threading.Event) -> None:
        try:
            runner.run(stop=stop)
        finally:
            runner.close()

    threads = [
        threading.Thread(target=run, args=(r, s), daemon=True)
        for r, s in zip((first, second), stops, strict=True)
    ]
    threads[0].start()
    _write(source, 0, 600)
    threads[1].start()  # joins: the partitions are shared out again
    _write(source, 600, 600)
    time.sleep(3)
    stops[0].set()  # leaves: the second member takes everything
    threads[0].join(60)
    _write(source, 1200, 600)

    def equal() -> bool:
        return bool(
            source.rows("SELECT id, n, label FROM public.items ORDER BY id")
            == source.rows("SELECT id, n, label FROM read_model.items ORDER BY id")
        )

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not equal():
        time.sleep(1)
    stops[1].set()
    threads[1].join(60)
    assert equal()
    duplicates = source.rows(
        'SELECT topic, partition, "offset", count(*) FROM read_model.applied'
        " GROUP BY 1, 2, 3 HAVING count(*) > 1"
    )
    assert duplicates == []
    # 1,800 inserts, 1,800 updates, 180 deletes: each applied exactly once.
    assert source.rows("SELECT count(*) FROM read_model.applied") == [(3780,)]
    assert first.metrics().applied > 0
    assert second.metrics().applied > 0
    assert second.metrics().rebalances >= 2
    assert {p for (_, p) in second.stored_positions()} == {0, 1, 2}
