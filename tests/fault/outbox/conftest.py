"""The outbox's fault-test harness: relays as real processes, a publisher stream, and the checks.

Relays run as ``python -m eventyard.outbox relay`` subprocesses so ``kill -9`` is a real crash:
the process dies mid-batch, its PostgreSQL session (and every partition lock) ends with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from confluent_kafka import Consumer, Message
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from sqlalchemy.orm import Session, sessionmaker

from eventyard.kafka import Retry
from eventyard.outbox import (
    Event,
    InboundMessage,
    InboxConfig,
    InboxConsumer,
    InboxTable,
    Outbox,
    OutboxTable,
    TopicRouter,
    create_outbox_schema,
)
from tests.support.eventually import eventually
from tests.support.kafka import headers

PARTITIONS = 16


def sqlalchemy_url(dsn: str) -> sa.URL:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return sa.URL.create(
        "postgresql+psycopg",
        username=str(info.get("user") or "postgres"),
        password=str(info["password"]) if info.get("password") else None,
        host=str(info.get("host") or "127.0.0.1"),
        port=int(str(info.get("port") or 5432)),
        database=str(info.get("dbname") or "postgres"),
    )


class RelayProcess:
    """One relay as a subprocess (``eventyard-outbox relay``), its log in a file."""

    def __init__(self, name: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "eventyard.outbox",
                    "relay",
                    "--name",
                    name,
                    "--log-format",
                    "console",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """``kill -9``: no chance to finish the batch, release a lock or mark a row."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def terminate(self) -> int:
        """SIGTERM, then wait for the clean exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)


@dataclass
class Stream:
    """Events published by background threads: ``count`` events over ``aggregates``."""

    count: int
    aggregates: int
    published: dict[str, str] = field(default_factory=dict)  # event id -> aggregate
    expected: dict[str, list[int]] = field(default_factory=dict)  # aggregate -> n in order
    threads: list[threading.Thread] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    progress: int = 0

    def wait(self, timeout: float = 300) -> None:
        for thread in self.threads:
            thread.join(timeout)
        if self.errors:
            raise self.errors[0]

    @property
    def done(self) -> bool:
        return all(not t.is_alive() for t in self.threads)


@dataclass
class Harness:
    """A database with the outbox, a 3-partition topic, and what the fault tests do with them."""

    dsn: str
    kafka_bootstrap: str
    topic: str
    table: OutboxTable
    engine: sa.Engine
    logs: Path
    relays: list[RelayProcess] = field(default_factory=list)

    @property
    def router(self) -> TopicRouter:
        return TopicRouter(template=self.topic)

    # -- relays
    def relay_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "EVENTYARD_OUTBOX_DSN": self.dsn,
            "EVENTYARD_OUTBOX_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "EVENTYARD_OUTBOX_PARTITIONS": str(self.table.partitions),
            "EVENTYARD_OUTBOX_TOPIC_TEMPLATE": self.topic,
            "EVENTYARD_OUTBOX_POLL_INTERVAL_S": "0.5",
            "EVENTYARD_OUTBOX_REBALANCE_INTERVAL_S": "0.5",
            "EVENTYARD_OUTBOX_BATCH_SIZE": "200",
            "EVENTYARD_OUTBOX_SHUTDOWN_GRACE_S": "5",
        }

    def start_relay(self, name: str, *, health_port: int | None = None) -> RelayProcess:
        env = self.relay_env()
        if health_port is not None:
            env["EVENTYARD_OUTBOX_HEALTH_PORT"] = str(health_port)
        relay = RelayProcess(name, env, self.logs / f"{name}.log")
        self.relays.append(relay)
        return relay

    def owners(self) -> dict[int, str]:
        """Which relay owns each partition now (from pg_locks, in this test's database: the
        relays of other databases on the server hold the same keys)."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT l.objid::int, a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.classid = %s AND l.objsubid = 2 AND l.granted AND l.objid < 1000000 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (self.table.lock_namespace,),
            ).fetchall()
        return {int(p): str(name).removeprefix("eventyard-outbox:") for p, name in rows}

    # -- publishing
    def stream(
        self,
        *,
        count: int,
        aggregates: int,
        writers: int = 2,
        pause_s: float = 0.0,
        delete_after_insert: bool = False,
    ) -> Stream:
        """Publish ``count`` events in small transactions from ``writers`` threads; each thread
        owns a disjoint set of aggregates, so each aggregate's events have one order."""
        stream = Stream(count=count, aggregates=aggregates)
        outbox = Outbox(
            table=self.table, router=self.router, delete_after_insert=delete_after_insert
        )
        factory = sessionmaker(self.engine)
        rng = random.Random(7)
        plan: list[list[tuple[str, int]]] = [[] for _ in range(writers)]
        counters: dict[str, int] = {}
        for _ in range(count):
            aggregate = f"agg-{rng.randrange(aggregates):03d}"
            counters[aggregate] = counters.get(aggregate, 0) + 1
            stream.expected.setdefault(aggregate, []).append(counters[aggregate])
            plan[int(aggregate[4:]) % writers].append((aggregate, counters[aggregate]))
        lock = threading.Lock()

        def write(items: list[tuple[str, int]], seed: int) -> None:
            local = random.Random(seed)
            try:
                index = 0
                while index < len(items):
                    size = local.randint(1, 20)
                    chunk = items[index : index + size]
                    index += size
                    events = [
                        Event(
                            aggregate_type="order", aggregate_id=a, type="Counted", payload={"n": n}
                        )
                        for a, n in chunk
                    ]
                    with factory() as session, session.begin():
                        outbox.publish_all(session, events)
                    with lock:
                        for e in events:
                            stream.published[str(e.id)] = e.aggregate_id
                        stream.progress += len(events)
                    if pause_s:
                        time.sleep(pause_s * local.random())
            except BaseException as error:
                stream.errors.append(error)
                raise

        for w in range(writers):
            thread = threading.Thread(target=write, args=(plan[w], w), daemon=True)
            stream.threads.append(thread)
            thread.start()
        return stream

    # -- reading and checking
    def read_topic(self, topic: str, ids: set[str], timeout: float = 240) -> list[Message]:
        """Every message of ``topic`` from the start, until each id in ``ids`` was seen."""
        consumer = Consumer(
            {
                "bootstrap.servers": self.kafka_bootstrap,
                "group.id": f"check-{uuid.uuid4().hex}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )
        consumer.subscribe([topic])
        got: list[Message] = []
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        try:
            while not ids <= seen and time.monotonic() < deadline:
                for message in consumer.consume(1000, 0.5):
                    if message.error():
                        continue
                    got.append(message)
                    seen.add(headers(message)["id"].decode())
        finally:
            consumer.close()
        missing = ids - seen
        assert not missing, f"{len(missing)} of {len(ids)} events never arrived"
        return got

    @staticmethod
    def first_deliveries(messages: list[Message]) -> dict[str, list[int]]:
        """Per aggregate, ``n`` of each event the first time it arrived (duplicates dropped)."""
        by_partition: dict[int, list[Message]] = {}
        for m in messages:
            by_partition.setdefault(int(m.partition() or 0), []).append(m)
        order: dict[str, list[int]] = {}
        seen: set[bytes] = set()
        for partition_messages in by_partition.values():
            for m in sorted(partition_messages, key=lambda x: int(x.offset() or 0)):
                event_id = headers(m)["id"]
                if event_id in seen:
                    continue
                seen.add(event_id)
                order.setdefault((m.key() or b"").decode(), []).append(
                    json.loads(m.value() or b"{}")["n"]
                )
        return order

    # -- the inbox side
    def effects_table(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "CREATE TABLE effects (event_id text NOT NULL, aggregate text NOT NULL, "
                    "n int NOT NULL, at bigserial)"
                )
            )

    def inbox_consumer(
        self, topic: str, name: str = "counter"
    ) -> tuple[InboxConsumer, threading.Thread]:
        def apply(session: Session, message: InboundMessage) -> None:
            session.execute(
                sa.text("INSERT INTO effects (event_id, aggregate, n) VALUES (:id, :a, :n)"),
                {"id": message.id, "a": message.key, "n": message.json()["n"]},
            )

        consumer = InboxConsumer(
            kafka={
                "bootstrap.servers": self.kafka_bootstrap,
                "group.id": f"{name}-{uuid.uuid4().hex[:6]}",
                "auto.commit.interval.ms": 500,
            },
            sessions=sessionmaker(self.engine),
            handler=apply,
            config=InboxConfig(
                name=name,
                topics=(topic,),
                batch_size=500,
                retry=Retry(attempts=5, wait_initial=0.1, wait_max=10.0, wait_jitter=0.0),
            ),
        )
        thread = threading.Thread(target=consumer.run, daemon=True)
        thread.start()
        return consumer, thread

    def effects(self) -> dict[str, Any]:
        with psycopg.connect(self.dsn) as conn:
            count, distinct, total = conn.execute(
                "SELECT count(*), count(DISTINCT event_id), coalesce(sum(n), 0) FROM effects"
            ).fetchone() or (0, 0, 0)
            digest = conn.execute(
                "SELECT md5(coalesce(string_agg(event_id, ',' ORDER BY event_id), '')) FROM effects"
            ).fetchone()
            rows = conn.execute("SELECT aggregate, n FROM effects ORDER BY at").fetchall()
        order: dict[str, list[int]] = {}
        for aggregate, n in rows:
            order.setdefault(aggregate, []).append(n)
        return {
            "count": count,
            "distinct": distinct,
            "sum": total,
            "checksum": digest[0] if digest else None,
            "order": order,
        }

    @staticmethod
    def expected_checksum(ids: set[str]) -> str:
        return hashlib.md5(",".join(sorted(ids)).encode(), usedforsecurity=False).hexdigest()

    def stop_relays(self) -> None:
        for relay in self.relays:
            if relay.process.poll() is None:
                relay.terminate()


@pytest.fixture
def harness(
    pg_database: str, kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> Iterator[Harness]:
    table = OutboxTable(partitions=PARTITIONS)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        create_outbox_schema(conn, outbox=table, inbox=InboxTable(), debezium_heartbeat=True)
    topic = unique_name("fault")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(30)
    engine = sa.create_engine(sqlalchemy_url(pg_database), pool_size=4)
    made = Harness(
        dsn=pg_database,
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
        table=table,
        engine=engine,
        logs=tmp_path,
    )
    yield made
    made.stop_relays()
    engine.dispose()
    for future in admin.delete_topics([topic]).values():
        with contextlib.suppress(Exception):
            future.result(30)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    """Wait for a count to be reached (never a timed assertion: the timeout only ends a hang)."""
    eventually(condition, timeout=timeout, interval=0.05, description=what)


@pytest.fixture
def until() -> Callable[..., None]:
    """``until(condition, what)``: wait for a count to be reached."""
    return wait_until
