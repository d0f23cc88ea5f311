"""20,000 source changes while the projection runner is SIGKILLed at random moments and Kafka
Connect is restarted (cleanly, then by a crash): the read model ends equal, row for row, to SQL
over the source tables, and no Kafka record's effect was applied twice."""

# ruff: noqa: S608, PLR0917 - SQL from this module's own queries; pytest passes fixtures

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from eventyard.stack import ConnectClient, Stack, drop_replication_slot, postgres_connector_config

RUNNER = Path(__file__).with_name("runner_process.py")
CHANGES = 20_000
RATE = 350  # changes per second: the writer runs about a minute, through kills and restarts

SOURCE = """
CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, tier text NOT NULL);
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer_id int NOT NULL,
    status text NOT NULL,
    amount numeric(12, 2) NOT NULL,
    updated_at timestamptz NOT NULL
);
ALTER TABLE orders REPLICA IDENTITY FULL;
INSERT INTO customers SELECT i, 'customer ' || i, 'basic' FROM generate_series(1, 50) i;
INSERT INTO orders SELECT i, 1 + i % 50, 'new', i * 0.25, now() FROM generate_series(1, 500) i;
"""


class Writer(threading.Thread):
    """Makes ``CHANGES`` row changes in small transactions (inserts, updates, deletes) at
    ``RATE`` per second, and adds a column half way."""

    def __init__(self, dsn: str, seed: int) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.random = random.Random(seed)
        self.done = 0
        self.error: BaseException | None = None
        self.altered = threading.Event()

    def run(self) -> None:
        try:
            self._write()
        except BaseException as error:  # surfaced by the test
            self.error = error

    def _write(self) -> None:
        rng = self.random
        live = list(range(1, 501))
        next_id = 501
        started = time.monotonic()
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while self.done < CHANGES:
                ahead = self.done / RATE - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
                if self.done >= CHANGES // 2 and not self.altered.is_set():
                    conn.execute("ALTER TABLE orders ADD COLUMN channel text")
                    self.altered.set()
                channel = "web" if self.altered.is_set() else None
                with conn.transaction():
                    for _ in range(rng.randint(1, 8)):
                        roll = rng.random()
                        if roll < 0.35 or len(live) < 50:
                            columns = "id, customer_id, status, amount, updated_at"
                            values = "%s, %s, 'new', %s, now()"
                            params: tuple[Any, ...] = (
                                next_id,
                                rng.randint(1, 50),
                                Decimal(rng.randint(1, 99999)) / 100,
                            )
                            if channel:
                                columns += ", channel"
                                values += ", %s"
                                params += (channel,)
                            conn.execute(
                                f"INSERT INTO orders ({columns}) VALUES ({values})", params
                            )
                            live.append(next_id)
                            next_id += 1
                        elif roll < 0.80:
                            conn.execute(
                                "UPDATE orders SET status = %s, amount = amount + %s,"
                                " updated_at = now() WHERE id = %s",
                                (
                                    rng.choice(["paid", "packed", "shipped"]),
                                    Decimal(rng.randint(-50, 50)) / 100,
                                    rng.choice(live),
                                ),
                            )
                        elif roll < 0.92:
                            victim = live.pop(rng.randrange(len(live)))
                            conn.execute("DELETE FROM orders WHERE id = %s", (victim,))
                        else:
                            conn.execute(
                                "UPDATE customers SET tier = %s WHERE id = %s",
                                (rng.choice(["basic", "gold", "platinum"]), rng.randint(1, 50)),
                            )
                        self.done += 1


class RunnerProcess:
    """The runner as a subprocess, to be killed with SIGKILL."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self.argv = argv
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.kills = 0

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(RUNNER), *self.argv], stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        assert self.process is not None
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.kills += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)


@pytest.fixture
def connector(
    pg_database: str, connect_url: str, unique_name: Callable[[str], str]
) -> Iterator[dict[str, str]]:
    client = ConnectClient(connect_url)
    made = {"name": unique_name("cdc"), "slot": unique_name("slot")}
    yield made
    client.delete(made["name"])
    drop_replication_slot(pg_database, made["slot"])
    client.close()


def _rows(dsn: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(query).fetchall()


CHECKS = (
    "SELECT id, customer_id, status, amount, updated_at, channel FROM {schema}.orders ORDER BY id",
    "SELECT id, name, tier FROM {schema}.customers ORDER BY id",
)


def _converged(dsn: str) -> bool:
    """The read model equals SQL over the source tables, row for row."""
    try:
        for query in CHECKS:
            if _rows(dsn, query.format(schema="public")) != _rows(
                dsn, query.format(schema="read_model")
            ):
                return False
        return _rows(
            dsn,
            "SELECT customer_id, count(*), sum(amount) FROM public.orders GROUP BY 1 ORDER BY 1",
        ) == _rows(dsn, "SELECT customer_id, orders, amount FROM read_model.totals ORDER BY 1")
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn):  # not created yet
        return False


def test_kill_runner_and_restart_connect_during_20000_changes(
    pg_database: str,
    kafka_bootstrap: str,
    connect_url: str,
    local_stack: Stack,
    connector: dict[str, str],
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> None:
    dsn, prefix, slot = pg_database, connector["name"], connector["slot"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SOURCE)
    orders_topic, customers_topic = f"{prefix}.public.orders", f"{prefix}.public.customers"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(orders_topic, num_partitions=3, replication_factor=1)])[
        orders_topic
    ].result(30)
    client = ConnectClient(connect_url)
    client.put(
        prefix,
        postgres_connector_config(
            dsn,
            prefix=prefix,
            slot=slot,
            tables=["public.orders", "public.customers"],
            **{
                "snapshot.mode": "initial",
                "topic.creation.default.replication.factor": "1",
                "topic.creation.default.partitions": "1",
            },
        ),
    )
    client.wait_running(prefix)

    runner = RunnerProcess(
        [dsn, kafka_bootstrap, unique_name("g"), orders_topic, customers_topic],
        tmp_path / "runner.log",
    )
    writer = Writer(dsn, seed=int.from_bytes(os.urandom(4), "big"))
    rng = random.Random(writer.random.random())
    runner.start()
    writer.start()
    restarted = crashed = False
    try:
        while writer.is_alive():
            time.sleep(rng.uniform(0.3, 2.5))
            runner.kill()
            if not restarted and writer.done > CHANGES * 0.3:
                local_stack.restart("connect")  # a clean restart while changes keep coming
                client.wait_running(prefix, timeout_s=120)
                restarted = True
            elif restarted and not crashed and writer.done > CHANGES * 0.6:
                local_stack.kill("connect")  # a crash: Connect replays what it had not flushed
                local_stack.up(["connect"])
                client.wait_running(prefix, timeout_s=120)
                crashed = True
            runner.start()
        writer.join()
        assert writer.error is None, writer.error
        assert restarted
        assert crashed
        assert runner.kills >= 5

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not _converged(dsn):
            assert runner.process is not None
            assert runner.process.poll() is None, runner.log.read_text()[-3000:]
            time.sleep(2)
        assert _converged(dsn), runner.log.read_text()[-3000:]
    finally:
        runner.stop()
        client.close()

    # Every Kafka record's effect once, through all the kills: offsets stored with the effects.
    assert (
        _rows(
            dsn,
            'SELECT topic, partition, "offset" FROM read_model.applied'
            " GROUP BY 1, 2, 3 HAVING count(*) > 1",
        )
        == []
    )
    applied = _rows(dsn, "SELECT count(*) FROM read_model.applied")[0][0]
    assert applied >= CHANGES + 550  # the snapshot, then every change (and Connect's replays)
