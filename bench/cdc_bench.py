"""CDC projection throughput and lag: writes bench/results/cdc.json.

One run, on the real stack (PostgreSQL -> Debezium -> Kafka -> projection -> PostgreSQL):

- ``raw_consume_events_per_s``: confluent-kafka reading the Debezium topic (JSON with schemas)
  and touching each value, nothing else.
- ``projection_events_per_s``: the ProjectionRunner applying the same topic from its first offset
  into a mirrored table (decode, collapse, upsert, offsets in the same transaction), in a
  fresh consumer group and schema each time. Both stop at the last record.
- ``ratio_projection_vs_raw``: the two above, measured side by side in this run: three rounds
  of raw then projection, interleaved; the medians (each round's numbers are in ``rounds``).
- ``lag_p50_ms`` / ``lag_p99_ms``: source commit (Debezium's ``source.ts_ms``) to projection
  commit, while a writer makes a steady 1,000 changes/s for 30 s.

The stack comes from ``EVENTYARD_*`` endpoints or is started with the usual settings
(``EVENTYARD_STATE_DIR`` picks the state folder). Goals: ratio >= 0.4, p99 lag <= 1,000 ms.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import structlog
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from psycopg import sql

from eventyard.cdc import Projection, ProjectionRunner, RunnerConfig, RunnerMetrics
from eventyard.stack import ConnectClient, Stack, drop_replication_slot, postgres_connector_config

RESULTS = Path(__file__).parent / "results" / "cdc.json"
BULK_CHANGES = 60_000
STEADY_RATE = 1_000
STEADY_SECONDS = 30
ROUNDS = 3

SOURCE = """
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id int NOT NULL,
    status text NOT NULL,
    amount numeric(12, 2) NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
)
"""
PROJECTED = (
    "CREATE TABLE {table} (id bigint PRIMARY KEY, customer_id int, status text,"
    " amount numeric(12, 2), updated_at timestamptz, _lsn bigint)"
)


def _projection() -> Projection:
    projection = Projection("bench_orders", tables={"orders": PROJECTED})
    projection.mirror("public.orders", into="orders", key=["id"], lsn_column="_lsn")
    return projection


def _end(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-watermark"})
    try:
        return int(consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1])
    finally:
        consumer.close()


def _wait_for(bootstrap: str, topic: str, count: int, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if _end(bootstrap, topic) >= count:
                return
        except Exception as error:  # the topic may not exist yet
            print(f"  waiting for {topic}: {error}")
        time.sleep(1)
    raise SystemExit(f"Debezium did not write {count} records to {topic} in {timeout_s:.0f} s")


def _settle(dsn: str) -> None:
    """Write out dirty pages and vacuum what earlier rounds wrote, so that neither contender
    pays for the other's leftovers."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM")
        conn.execute("CHECKPOINT")
    time.sleep(1)


def _raw_consume(bootstrap: str, topic: str, count: int) -> float:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-raw-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    seen = 0
    size = 0
    started = time.perf_counter()
    while seen < count:
        for message in consumer.consume(2000, 1.0):
            if message.error() is None:
                size += len(message.value() or b"")
                seen += 1
    elapsed = time.perf_counter() - started
    consumer.close()
    return seen / elapsed


def _project(config: RunnerConfig, count: int) -> float:
    runner = ProjectionRunner(_projection(), config)
    runner.start()
    while not runner._positions:
        runner.poll_once()
    started = time.perf_counter()
    while runner.metrics().applied < count:  # stops at the last record, as the raw reader does
        if runner.poll_once() == 0 and runner.caught_up():
            break
    elapsed = time.perf_counter() - started
    applied = runner.metrics().applied
    runner.close()
    if applied < count:
        raise SystemExit(f"the projection applied {applied} of {count} events")
    return applied / elapsed


def _steady_writer(dsn: str, stop: threading.Event, first_id: int) -> int:
    done = 0
    started = time.monotonic()
    tick = 0.01
    per_tick = int(STEADY_RATE * tick)
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set() and time.monotonic() - started < STEADY_SECONDS:
            with conn.transaction():
                for i in range(per_tick):
                    if i % 2 == 0:
                        conn.execute(
                            "INSERT INTO orders (id, customer_id, status, amount)"
                            " VALUES (%s, %s, 'new', 1.5)",
                            (first_id + done, done % 100),
                        )
                    else:
                        conn.execute(
                            "UPDATE orders SET status = 'paid', updated_at = now() WHERE id = %s",
                            (first_id + done - 1,),
                        )
                    done += 1
            ahead = done / STEADY_RATE - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    return done


def _bulk_write(dsn: str) -> None:
    """Half inserts, half updates, in transactions of 5,000 rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        half = BULK_CHANGES // 2
        for start in range(0, half, 5000):
            conn.execute(
                "INSERT INTO orders (id, customer_id, status, amount)"
                " SELECT i, i %% 100, 'new', i * 0.01 FROM generate_series(%s::int, %s::int) i",
                (start, start + 4999),
            )
        for start in range(0, half, 5000):
            conn.execute(
                "UPDATE orders SET status = 'paid', amount = amount + 1 WHERE id BETWEEN %s AND %s",
                (start, start + 4999),
            )


def _steady(bootstrap: str, dsn: str, topic: str, group: str, schema: str) -> RunnerMetrics:
    """The runner's lag metrics while a writer makes STEADY_RATE changes/s."""
    steady = ProjectionRunner(
        _projection(),
        RunnerConfig(
            bootstrap_servers=bootstrap,
            dsn=dsn,
            group_id=group,
            topics=(topic,),
            schema=schema,
            batch_size=5000,
            poll_timeout_s=0.02,
        ),
    )
    stop = threading.Event()
    written: list[int] = []
    writer = threading.Thread(
        target=lambda: written.append(_steady_writer(dsn, stop, 10_000_000)), daemon=True
    )
    steady.start()
    while not steady._positions:  # wait for the assignment before writing
        steady.poll_once()
    writer.start()
    deadline = time.monotonic() + STEADY_SECONDS + 60
    while writer.is_alive() and time.monotonic() < deadline:
        steady.poll_once()
    writer.join()
    while steady.metrics().applied < written[0] and time.monotonic() < deadline:
        steady.poll_once()
    metrics = steady.metrics()
    steady.close()
    if metrics.lag_ms_p50 is None or metrics.lag_ms_p99 is None:
        raise SystemExit("no lag samples")
    return metrics


def main() -> None:
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(30)  # warnings and up
    )
    stack = Stack()
    stack.up(["postgres", "kafka", "connect"])
    endpoints = stack.endpoints()
    server, bootstrap = endpoints["EVENTYARD_PG_DSN"], endpoints["EVENTYARD_KAFKA_BOOTSTRAP"]
    name = f"bench_cdc_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = psycopg.conninfo.make_conninfo(server, dbname=name)
    client = ConnectClient(endpoints["EVENTYARD_CONNECT_URL"])
    topic = f"{name}.public.orders"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(SOURCE)
        client.put(
            name,
            postgres_connector_config(
                dsn,
                prefix=name,
                slot=name,
                tables=["public.orders"],
                **{
                    "snapshot.mode": "no_data",
                    "max.batch.size": "4096",
                    "poll.interval.ms": "50",
                    "max.queue.size": "16384",
                },
            ),
        )
        client.wait_running(name)
        time.sleep(2)
        print(f"writing {BULK_CHANGES} changes")
        _bulk_write(dsn)
        _wait_for(bootstrap, topic, BULK_CHANGES)

        raws: list[float] = []
        projections: list[float] = []
        for round_ in range(ROUNDS):  # interleaved, so both see the machine in the same moods
            print(f"round {round_ + 1} of {ROUNDS}: raw consume")
            _settle(dsn)
            raws.append(_raw_consume(bootstrap, topic, BULK_CHANGES))
            print(f"round {round_ + 1} of {ROUNDS}: projection")
            _settle(dsn)
            config = RunnerConfig(
                bootstrap_servers=bootstrap,
                dsn=dsn,
                group_id=f"{name}-projection-{round_}",
                topics=(topic,),
                schema=f"read_model_{round_}",
                batch_size=10_000,
                poll_timeout_s=0.05,
            )
            projections.append(_project(config, BULK_CHANGES))
        raw, projection = statistics.median(raws), statistics.median(projections)

        print(f"steady {STEADY_RATE} changes/s for {STEADY_SECONDS} s")
        metrics = _steady(  # the last round's group and read model: caught up already
            bootstrap, dsn, topic, config.group_id, config.schema
        )
        result: dict[str, Any] = {
            "raw_consume_events_per_s": round(raw),
            "projection_events_per_s": round(projection),
            "ratio_projection_vs_raw": round(projection / raw, 3),
            "lag_p50_ms": round(metrics.lag_ms_p50 or 0, 1),
            "lag_p99_ms": round(metrics.lag_ms_p99 or 0, 1),
            "rounds": {
                "raw_consume_events_per_s": [round(r) for r in raws],
                "projection_events_per_s": [round(p) for p in projections],
            },
        }
    finally:
        client.delete(name)
        drop_replication_slot(server, name)
        client.close()
        admin = AdminClient({"bootstrap.servers": bootstrap})  # alive until the answer
        try:  # ~130 MB of records: not left behind in the stack's Kafka
            admin.delete_topics([topic])[topic].result(30)
        except Exception as error:
            print(f"  could not delete {topic}: {error}")
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
