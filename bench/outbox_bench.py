"""Outbox throughput and latency, side by side in one run: writes bench/results/outbox.json.

- ``raw_producer_events_per_s``: confluent-kafka producing the same messages (key, value,
  headers) with the relay's producer settings, straight to the broker.
- ``relay_events_per_s`` / ``relay3_events_per_s``: one / three relay processes draining an
  outbox pre-filled with the same events (committed in one transaction, so the relays start
  together on a full table).
- ``debezium_events_per_s``: Debezium's EventRouter streaming the same pre-filled outbox.
- ``relay_p50_ms`` / ``relay_p99_ms`` and ``debezium_p50_ms`` / ``debezium_p99_ms``: from the
  publishing transaction's commit to receipt by a consumer, at a steady 500 events/s.

Throughput is events / (last append on the broker - start), where start is the first
``produce()`` for the raw producer and the commit of the pre-filled outbox for the relays and
Debezium (which are already connected and waiting). Every topic uses ``LogAppendTime``, so the
end is the broker's clock, read back after the run: the reader never competes for CPU with what
is measured. Runs against the stack ``eventyard.stack.Stack()``
finds (``EVENTYARD_STATE_DIR`` picks another one), in a database and topics of its own.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from sqlalchemy.orm import Session

from eventyard.outbox import (
    DebeziumConnector,
    Event,
    Outbox,
    OutboxTable,
    TopicRouter,
    create_outbox_schema,
    producer_config,
)
from eventyard.outbox._relay import outgoing_message
from eventyard.outbox.testing import InMemoryOutboxStore
from eventyard.stack import Stack, drop_replication_slot

RESULTS = Path(__file__).parent / "results" / "outbox.json"
EVENTS = 30_000
AGGREGATES = 1_000
PAYLOAD_BYTES = 200
LATENCY_RATE = 500
LATENCY_SECONDS = 20
PARTITIONS = 3


def _events(count: int, tag: str) -> list[Event]:
    pad = "x" * (PAYLOAD_BYTES - 60)
    return [
        Event(
            aggregate_type="order",
            aggregate_id=f"order-{i % AGGREGATES:05d}",
            type="OrderPlaced",
            payload={"n": i, "run": tag, "pad": pad},
        )
        for i in range(count)
    ]


def _create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [
            NewTopic(
                name,
                num_partitions=PARTITIONS,
                replication_factor=1,
                config={"message.timestamp.type": "LogAppendTime"},
            )
            for name in names
        ]
    )
    for future in futures.values():
        future.result(30)


def _delete_topics(bootstrap: str, names: list[str]) -> None:
    if not names:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(names).values():
        try:
            future.result(30)
        except Exception as error:
            print(f"  could not delete a topic: {error}")


def _append_rate(
    bootstrap: str, topic: str, count: int, started: float, timeout_s: float = 300
) -> float:
    """Events per second from ``started`` (wall clock) to the broker's last append."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    last, seen = 0.0, 0
    deadline = time.monotonic() + timeout_s
    try:
        while seen < count and time.monotonic() < deadline:
            for message in consumer.consume(5000, 1.0):
                if message.error():
                    continue
                last = max(last, message.timestamp()[1] / 1000)
                seen += 1
    finally:
        consumer.close()
    if seen < count:
        raise RuntimeError(f"{topic}: {seen} of {count} messages arrived")
    return count / max(last - started, 0.001)


class Bench:
    def __init__(self, stack: Stack) -> None:
        endpoints = stack.endpoints()
        self.pg = endpoints["EVENTYARD_PG_DSN"]
        self.bootstrap = endpoints["EVENTYARD_KAFKA_BOOTSTRAP"]
        self.connect = endpoints["EVENTYARD_CONNECT_URL"]
        self.run_id = uuid.uuid4().hex[:8]
        self.database = f"bench_outbox_{self.run_id}"
        with psycopg.connect(self.pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"'.encode())
        self.dsn = self.pg.rsplit("/", 1)[0] + "/" + self.database
        self.table = OutboxTable()
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            create_outbox_schema(conn, outbox=self.table, debezium_heartbeat=True)
        self.engine = sa.create_engine(sa.make_url(self.dsn).set(drivername="postgresql+psycopg"))
        self.topics: list[str] = []
        self.relays: list[subprocess.Popen[bytes]] = []

    def topic(self, name: str) -> str:
        topic = f"bench.{self.run_id}.{name}"
        _create_topics(self.bootstrap, [topic])
        self.topics.append(topic)
        return topic

    # -- contenders
    def raw_producer(self) -> float:
        topic = self.topic("raw")
        outbox = Outbox(router=TopicRouter(template=topic))
        store = InMemoryOutboxStore(partitions=self.table.partitions)
        with store.transaction() as txn:
            for record in outbox.records(_events(EVENTS, "raw")):
                txn.append(record)
        messages = [outgoing_message(row, outbox.router) for row in store.rows()]
        producer = Producer(producer_config(self.bootstrap, client_id="bench-raw"))
        producer.list_topics(topic, timeout=10)  # connected, like a relay waiting for rows
        started = time.time()
        for m in messages:
            while True:
                try:
                    producer.produce(m.topic, value=m.value, key=m.key, headers=list(m.headers))
                    break
                except BufferError:
                    producer.poll(0.01)
        producer.flush(120)
        return _append_rate(self.bootstrap, topic, EVENTS, started)

    def start_relays(self, count: int, template: str, tag: str) -> None:
        env = {
            **os.environ,
            "EVENTYARD_OUTBOX_DSN": self.dsn,
            "EVENTYARD_OUTBOX_KAFKA_BOOTSTRAP": self.bootstrap,
            "EVENTYARD_OUTBOX_TOPIC_TEMPLATE": template,
            "EVENTYARD_OUTBOX_REBALANCE_INTERVAL_S": "0.5",
            "EVENTYARD_OUTBOX_BATCH_SIZE": "1000",
        }
        for i in range(count):
            self.relays.append(
                subprocess.Popen(
                    [sys.executable, "-m", "eventyard.outbox", "relay", "--name", f"{tag}-{i}"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        # Wait until the relays share every partition before the rows arrive.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            owners = self._owners()
            if len(owners) == self.table.partitions and len(set(owners.values())) == count:
                return
            time.sleep(0.2)
        raise RuntimeError(f"{count} relays did not share the partitions: {self._owners()}")

    def stop_relays(self) -> None:
        for process in self.relays:
            process.send_signal(signal.SIGTERM)
        for process in self.relays:
            process.wait(60)
        self.relays = []

    def _owners(self) -> dict[int, str]:
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT l.objid::int, a.application_name FROM pg_locks l JOIN pg_stat_activity a "
                "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.classid = %s "
                "AND l.objsubid = 2 AND l.granted AND l.objid < 1000000 AND l.database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())",
                (self.table.lock_namespace,),
            ).fetchall()
        return {int(p): str(n) for p, n in rows}

    def prefill(self, template: str, tag: str) -> float:
        """Fill the outbox in one transaction; the wall-clock time of its commit."""
        outbox = Outbox(table=self.table, router=TopicRouter(template=template))
        events = _events(EVENTS, tag)
        with Session(self.engine) as session:
            with session.begin():  # one commit: every row appears at once
                for start in range(0, EVENTS, 5000):
                    outbox.publish_all(session, events[start : start + 5000])
            return time.time()

    def relay(self, count: int) -> float:
        topic = self.topic(f"relay{count}")
        self.start_relays(count, topic, f"relay{count}")
        try:
            committed = self.prefill(topic, f"relay{count}")
            rate = _append_rate(self.bootstrap, topic, EVENTS, committed)
        finally:
            self.stop_relays()
        return rate

    def connector(self, topic: str) -> DebeziumConnector:
        # One name per phase: Connect keeps a connector's offsets under its name.
        return DebeziumConnector(
            name=f"bench-{self.run_id}-{topic.rsplit('.', 1)[-1]}",
            dsn=self.dsn,
            table=self.table,
            router=TopicRouter(template=topic),
            topic_prefix=f"bench{self.run_id}",
        )

    def debezium(self) -> float:
        topic = self.topic("debezium")
        connector = self.connector(topic)
        connector.register(self.connect)
        try:
            committed = self.prefill(topic, "debezium")
            return _append_rate(self.bootstrap, topic, EVENTS, committed)
        finally:
            connector.unregister(self.connect)
            drop_replication_slot(self.dsn, connector.slot_name, timeout_s=60)
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute("TRUNCATE outbox")  # Debezium left the rows; relays must not see them

    # -- latency at a steady rate
    def latency(self, topic: str, tag: str, *, delete_after_insert: bool) -> tuple[float, float]:
        outbox = Outbox(
            table=self.table,
            router=TopicRouter(template=topic),
            delete_after_insert=delete_after_insert,
        )
        committed: dict[str, float] = {}
        received: dict[str, float] = {}
        appended: dict[str, float] = {}
        total = LATENCY_RATE * LATENCY_SECONDS
        ready = threading.Event()

        reader = threading.Thread(
            target=self._receive, args=(topic, total, received, appended, ready), daemon=True
        )
        reader.start()
        ready.wait(60)
        time.sleep(1)  # let the consumer's first fetch settle at the log end
        lock = threading.Lock()
        started = time.monotonic()

        def publish(writer: int) -> None:
            # Two writers, each at half the rate, over disjoint aggregates: one writer alone
            # can fall behind 500 commits/s on a busy 2-core machine.
            with Session(self.engine) as session:
                for i in range(writer, total, 2):
                    pause = started + i / LATENCY_RATE - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    event = Event(
                        aggregate_type="order",
                        aggregate_id=f"order-{writer}-{i % AGGREGATES:05d}",
                        type="OrderPlaced",
                        payload={"n": i, "run": tag},
                    )
                    with session.begin():
                        outbox.publish(session, event)
                    now = time.time()
                    with lock:
                        committed[str(event.id)] = now

        writers = [threading.Thread(target=publish, args=(w,)) for w in range(2)]
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        achieved = total / (time.monotonic() - started)
        reader.join(LATENCY_SECONDS + 150)
        latencies = sorted((received[k] - committed[k]) * 1000 for k in committed if k in received)
        if len(latencies) < total:
            raise RuntimeError(f"{tag}: {len(latencies)} of {total} events received")
        p50 = statistics.median(latencies)
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        to_broker = sorted((appended[k] - committed[k]) * 1000 for k in committed if k in appended)
        print(
            f"  {tag}: {achieved:.0f} events/s published; p50 {p50:.1f} ms, p99 {p99:.1f} ms "
            f"(commit to broker append: p50 {statistics.median(to_broker):.1f} ms, "
            f"p99 {to_broker[int(len(to_broker) * 0.99) - 1]:.1f} ms)"
        )
        return p50, p99

    def _receive(
        self,
        topic: str,
        total: int,
        received: dict[str, float],
        appended: dict[str, float],
        ready: threading.Event,
    ) -> None:
        """Record when each event id arrives (and the broker's append time), until ``total``."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"bench-{uuid.uuid4().hex}",
                "auto.offset.reset": "latest",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 5,
            }
        )
        consumer.subscribe([topic], on_assign=lambda *_: ready.set())
        deadline = time.monotonic() + LATENCY_SECONDS + 120
        try:
            while len(received) < total and time.monotonic() < deadline:
                message = consumer.poll(0.1)
                if message is None or message.error():
                    continue
                now = time.time()
                raw_id = dict(message.headers() or [])["id"]
                assert isinstance(raw_id, bytes), raw_id
                event_id = raw_id.decode()
                received.setdefault(event_id, now)
                appended.setdefault(event_id, message.timestamp()[1] / 1000)
        finally:
            consumer.close()

    def relay_latency(self) -> tuple[float, float]:
        topic = self.topic("relaylat")
        self.start_relays(1, topic, "relaylat")
        try:
            return self.latency(topic, "relay latency", delete_after_insert=False)
        finally:
            self.stop_relays()

    def debezium_latency(self) -> tuple[float, float]:
        topic = self.topic("dbzlat")
        connector = self.connector(topic)
        connector.register(self.connect)
        try:
            return self.latency(topic, "debezium latency", delete_after_insert=True)
        finally:
            connector.unregister(self.connect)
            drop_replication_slot(self.dsn, connector.slot_name, timeout_s=60)

    def close(self) -> None:
        self.stop_relays()
        self.engine.dispose()
        _delete_topics(self.bootstrap, self.topics)
        with psycopg.connect(self.pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'.encode())


def main() -> None:
    stack = Stack()
    stack.up(["postgres", "kafka", "connect"])
    bench = Bench(stack)
    print(f"outbox bench: {EVENTS} events of ~{PAYLOAD_BYTES} B over {AGGREGATES} aggregates")
    try:
        raw = bench.raw_producer()
        print(f"  raw producer: {raw:.0f} events/s")
        relay1 = bench.relay(1)
        print(f"  1 relay: {relay1:.0f} events/s")
        relay3 = bench.relay(3)
        print(f"  3 relays: {relay3:.0f} events/s")
        debezium = bench.debezium()
        print(f"  debezium: {debezium:.0f} events/s")
        relay_p50, relay_p99 = bench.relay_latency()
        debezium_p50, debezium_p99 = bench.debezium_latency()
    finally:
        bench.close()
    results: dict[str, Any] = {
        "raw_producer_events_per_s": round(raw),
        "relay_events_per_s": round(relay1),
        "relay3_events_per_s": round(relay3),
        "debezium_events_per_s": round(debezium),
        "relay_p50_ms": round(relay_p50, 1),
        "relay_p99_ms": round(relay_p99, 1),
        "debezium_p50_ms": round(debezium_p50, 1),
        "debezium_p99_ms": round(debezium_p99, 1),
        "ratio_relay_vs_raw": round(relay1 / raw, 3),
        "ratio_relay_vs_debezium": round(relay1 / debezium, 3),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"(machine: {os.cpu_count()} CPUs, Python {platform.python_version()}; wrote {RESULTS})")


if __name__ == "__main__":
    main()
