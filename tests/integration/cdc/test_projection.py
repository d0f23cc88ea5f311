"""A projection kept equal to real source tables through Debezium: snapshot, streaming, updates,
deletes, truncate, ALTER TABLE mid-stream, unchanged TOAST values, restarts from stored offsets,
poison records and rebuilds."""

# ruff: noqa: S608, PLR0917 - SQL from this module's own column lists; pytest passes fixtures

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from typing import Any

import psycopg
from confluent_kafka import Consumer, Message, Producer

from eventyard.cdc import (
    UNAVAILABLE,
    ApplyContext,
    ChangeEvent,
    Projection,
    ProjectionRunner,
    RunnerConfig,
    TableEvent,
)
from eventyard.kafka import read_dead_letter
from tests.support.kafka import headers as message_headers

ORDERS = """
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer text NOT NULL,
    status text NOT NULL,
    amount numeric(12, 2) NOT NULL,
    placed_at timestamptz NOT NULL,
    tags text[],
    meta jsonb,
    big text
);
ALTER TABLE orders ALTER COLUMN big SET STORAGE EXTERNAL;
"""
PROJECTED = (
    "CREATE TABLE {table} (id bigint PRIMARY KEY, customer text, status text,"
    " amount numeric(12, 2), placed_at timestamptz, tags text[], meta jsonb, big text,"
    " _lsn bigint)"
)
COLUMNS = "id, customer, status, amount, placed_at, tags, meta, big"


def _insert(source: Any, ids: range, *, big: bool = False) -> None:
    source.sql(
        "INSERT INTO orders (id, customer, status, amount, placed_at, tags, meta, big)"
        " SELECT i, 'c' || (i %% 7), 'new', i * 1.25, '2024-05-01 10:00+00'::timestamptz"
        " + i * interval '1 minute', ARRAY['t' || i, 'x'], jsonb_build_object('n', i),"
        " CASE WHEN %s THEN repeat(md5(i::text), 300) END"
        " FROM generate_series(%s::int, %s::int) AS i",
        (big, ids.start, ids.stop - 1),
    )


def _projection(name: str) -> Projection:
    projection = Projection(name, tables={"orders": PROJECTED})
    projection.mirror(
        "public.orders", into="orders", key=["id"], lsn_column="_lsn", add_columns=True
    )
    return projection


def _config(source: Any, group: str, **extra: Any) -> RunnerConfig:
    return RunnerConfig(
        bootstrap_servers=extra.pop("bootstrap"),
        dsn=source.dsn,
        group_id=group,
        topics=(source.topic("public.orders"),),
        schema="read_model",
        batch_size=extra.pop("batch_size", 500),
        **extra,
    )


def _same(source: Any, columns: str = COLUMNS) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return bool(
                source.rows(f"SELECT {columns} FROM public.orders ORDER BY id")
                == source.rows(f"SELECT {columns} FROM read_model.orders ORDER BY id")
            )
        except psycopg.errors.UndefinedColumn:
            return False  # the projection has not seen the new column yet

    return check


def _differences(source: Any, columns: str = COLUMNS) -> Callable[[], str]:
    def why() -> str:
        try:
            src = {repr(r) for r in source.rows(f"SELECT {columns} FROM public.orders")}
            dst = {repr(r) for r in source.rows(f"SELECT {columns} FROM read_model.orders")}
        except psycopg.Error as error:
            return str(error)
        return (
            f"only in source: {sorted(src - dst)[:3]}, only in projection: {sorted(dst - src)[:3]}"
        )

    return why


def test_snapshot_streaming_updates_deletes_alter_truncate_and_toast(
    source: Any,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    converge: Any,
    runners: list[ProjectionRunner],
) -> None:
    source.sql(ORDERS)
    _insert(source, range(1, 51), big=True)  # read by the initial snapshot
    source.connect(["public.orders"])

    projection = _projection("orders_view")
    unavailable: list[int] = []

    @projection.on("public.orders")
    def watch_toast(ctx: ApplyContext, event: TableEvent) -> None:
        if (
            isinstance(event, ChangeEvent)
            and event.op.value == "u"
            and event.after
            and event.after.get("big") is UNAVAILABLE
        ):
            unavailable.append(event.after["id"])

    runner = ProjectionRunner(
        projection, _config(source, unique_name("g"), bootstrap=kafka_bootstrap)
    )
    runners.append(runner)
    converge(runner, _same(source), why=_differences(source))

    _insert(source, range(51, 101))
    source.sql("UPDATE orders SET status = 'paid', amount = amount + 0.01 WHERE id % 3 = 0")
    source.sql("UPDATE orders SET status = 'shipped' WHERE id <= 10")  # big is TOASTed there
    source.sql("DELETE FROM orders WHERE id % 5 = 0")
    source.sql("UPDATE orders SET id = id + 1000 WHERE id = 7")  # a key change: d then c
    source.sql("UPDATE orders SET meta = NULL, tags = '{}' WHERE id = 8")
    converge(runner, _same(source), why=_differences(source))
    assert unavailable, "no update carried the unavailable TOAST placeholder"
    assert source.rows("SELECT count(*) FROM read_model.orders WHERE big IS NOT NULL") == [(40,)]

    source.sql("ALTER TABLE orders ADD COLUMN note text")
    source.sql("UPDATE orders SET note = 'hello ' || id WHERE id BETWEEN 11 AND 20")
    _insert(source, range(101, 111))
    source.sql("UPDATE orders SET note = 'late' WHERE id = 101")
    converge(
        runner, _same(source, COLUMNS + ", note"), why=_differences(source, COLUMNS + ", note")
    )

    source.sql("TRUNCATE orders")
    _insert(source, range(500, 503))
    converge(runner, _same(source, COLUMNS + ", note"), why=_differences(source))
    assert source.rows("SELECT id FROM read_model.orders ORDER BY id") == [(500,), (501,), (502,)]

    metrics = runner.metrics()
    assert metrics.applied >= 180
    assert metrics.dead_lettered == 0
    assert metrics.total_lag == 0
    assert [p.topic for p in metrics.partitions] == [source.topic("public.orders")]


def test_a_new_runner_starts_from_the_offsets_stored_in_postgres(
    source: Any,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    converge: Any,
    runners: list[ProjectionRunner],
) -> None:
    source.sql(ORDERS)
    _insert(source, range(1, 31))
    source.connect(["public.orders"])
    first = ProjectionRunner(
        _projection("orders_view"), _config(source, unique_name("g"), bootstrap=kafka_bootstrap)
    )
    runners.append(first)
    converge(first, _same(source), why=_differences(source))
    first.close()

    source.sql("UPDATE orders SET status = 'paid' WHERE id <= 5")
    # Another consumer group: Kafka has no committed offsets for it, PostgreSQL has.
    second = ProjectionRunner(
        _projection("orders_view"), _config(source, unique_name("g"), bootstrap=kafka_bootstrap)
    )
    runners.append(second)
    converge(second, _same(source), why=_differences(source))
    assert second.metrics().applied == 5
    stored = second.stored_positions()
    assert stored == {(source.topic("public.orders"), 0): 35}


def test_poison_records_go_to_the_dead_letter_topic_and_the_runner_goes_on(
    source: Any,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    converge: Any,
    new_topic: Callable[..., str],
    runners: list[ProjectionRunner],
) -> None:
    source.sql(ORDERS)
    _insert(source, range(1, 11))
    source.connect(["public.orders"])
    topic = source.topic("public.orders")
    dead = new_topic("dlq")

    projection = _projection("orders_view")

    @projection.on("public.orders")
    def refuse(ctx: ApplyContext, event: TableEvent) -> None:
        if event.op.value != "t" and event.row.get("customer") == "poison":  # type: ignore[union-attr]
            raise ValueError(f"order {event.row['id']} is poison")  # type: ignore[union-attr]

    runner = ProjectionRunner(
        projection,
        _config(source, unique_name("g"), bootstrap=kafka_bootstrap, dead_letter_topic=dead),
    )
    runners.append(runner)
    converge(runner, _same(source), why=_differences(source))

    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topic, key=b"garbage", value=b"\x01 not json", headers=[("trace", b"t-1")])
    assert producer.flush(10) == 0
    source.sql("INSERT INTO orders VALUES (11, 'poison', 'new', 1, now(), NULL, NULL, NULL)")
    _insert(source, range(12, 21))

    def done() -> bool:
        return bool(source.rows("SELECT count(*) FROM read_model.orders") == [(19,)])

    converge(runner, done)
    assert source.rows("SELECT id FROM read_model.orders WHERE id = 11") == []
    assert runner.metrics().dead_lettered == 2

    reader = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": unique_name("r"),
            "auto.offset.reset": "earliest",
        }
    )
    reader.subscribe([dead])
    got = []
    for _ in range(60):
        message = reader.poll(1.0)
        if message is not None and not message.error():
            got.append(message)
        if len(got) == 2:
            break
    reader.close()
    assert len(got) == 2
    garbage, refused = got
    assert garbage.value() == b"\x01 not json"
    assert garbage.key() == b"garbage"
    assert json.loads(refused.value() or b"{}")["payload"]["after"]["customer"] == "poison"
    _check_dead_letter_headers(garbage, refused, topic=topic)


def _check_dead_letter_headers(garbage: Message, refused: Message, *, topic: str) -> None:
    """The records keep their own headers and get the eventyard.dlt.* ones (no attempts: the
    runner does not count them)."""
    headers = message_headers(garbage)
    assert headers["trace"] == b"t-1"
    assert headers["eventyard.dlt.stage"] == b"decode"
    assert headers["eventyard.dlt.exception.type"].startswith(b"eventyard.cdc.")
    assert headers["eventyard.dlt.exception.type"].endswith(b".DecodeError")
    assert headers["eventyard.dlt.original.topic"] == topic.encode()
    assert headers["eventyard.dlt.original.partition"] == b"0"
    assert headers["eventyard.dlt.consumer"] == b"orders_view"
    assert b"neither JSON" in headers["eventyard.dlt.exception"]
    assert "eventyard.dlt.attempts" not in headers
    refused_headers = message_headers(refused)
    assert refused_headers["eventyard.dlt.stage"] == b"handle"
    assert refused_headers["eventyard.dlt.exception.type"] == b"builtins.ValueError"
    assert refused_headers["eventyard.dlt.exception"] == b"ValueError: order 11 is poison"
    assert b"refuse" in refused_headers["eventyard.dlt.exception.stacktrace"]
    first, second = read_dead_letter(garbage.headers()), read_dead_letter(refused.headers())
    assert first.original_offset is not None
    assert second.original_offset is not None
    assert second.original_offset > first.original_offset
    assert second.consumer == "orders_view"
    assert not [name for name, _ in second.headers if name.startswith("eventyard.")]


def test_rebuild_from_the_earliest_offset_swaps_a_fresh_table_in(
    source: Any,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    converge: Any,
    runners: list[ProjectionRunner],
) -> None:
    source.sql(ORDERS)
    _insert(source, range(1, 41))
    source.connect(["public.orders"])
    group = unique_name("g")
    live = ProjectionRunner(
        _projection("orders_view"), _config(source, group, bootstrap=kafka_bootstrap)
    )
    runners.append(live)
    converge(live, _same(source), why=_differences(source))
    source.sql("UPDATE orders SET status = 'paid' WHERE id <= 20")
    source.sql("DELETE FROM orders WHERE id > 35")
    converge(live, _same(source), why=_differences(source))

    # The read model gets damaged (a bad migration, a manual fix gone wrong...).
    source.sql("DELETE FROM read_model.orders WHERE id < 10")
    source.sql("UPDATE read_model.orders SET status = 'lost'")
    assert not _same(source)()

    # A second process rebuilds while the live runner keeps going.
    rebuilder = ProjectionRunner(
        _projection("orders_view"), _config(source, group, bootstrap=kafka_bootstrap)
    )
    runners.append(rebuilder)
    report = rebuilder.rebuild(timeout_s=120)
    assert report.events >= 40 + 20 + 5
    assert _same(source)()
    indexes = source.rows(
        "SELECT indexname FROM pg_indexes WHERE schemaname = 'read_model' AND tablename = 'orders'"
    )
    assert indexes == [("orders_pkey",)]
    assert source.rows("SELECT to_regclass('read_model.orders__rebuild')") == [(None,)]

    source.sql("UPDATE orders SET status = 'shipped' WHERE id = 1")
    _insert(source, range(100, 105))
    converge(live, _same(source), why=_differences(source))


def test_start_tunes_the_garbage_collector_unless_told_not_to(
    source: Any, kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        for tune, first in ((False, 700), (True, 50_000)):
            config = _config(source, unique_name("g"), bootstrap=kafka_bootstrap, tune_gc=tune)
            with ProjectionRunner(_projection(f"gc_view_{tune}".lower()), config) as runner:
                runner.start()
                assert gc.get_threshold() == (first, 10, 10)
    finally:
        gc.set_threshold(*saved)
