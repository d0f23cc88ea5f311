"""Saga throughput and latency against PostgreSQL's own commit rate: writes bench/results/saga.json.

The saga: ``reserve_credit`` (customers), ``reserve_stock`` (inventory, the pivot) and the local
``approve_order``: 3 steps, 2 participants. Orchestrator, customers and inventory run as three
processes on this machine, each with its polling relay in a thread, all on one PostgreSQL
(one schema per service) and one Kafka, as in the shop of the integration tests.

- ``pg_commits_per_s``: single-row INSERT transactions per second from 3 client processes (one
  per service process of the saga run), measured in the same run, just before the sagas.
- ``sagas_per_s``: sagas started as fast as two threads can, divided by the time from the first
  start to the last saga's end (both read from PostgreSQL).
- ``commits_per_saga``: write transactions the saga run needed (PostgreSQL's transaction-id
  counter: every process, relays and subtransactions included) divided by the sagas.
- ``bound_sagas_per_s``: ``pg_commits_per_s / commits_per_saga``, the saga rate PostgreSQL's
  commits alone would allow; ``ratio_vs_bound``: ``sagas_per_s / bound_sagas_per_s``.
- ``p50_ms``, ``p99_ms``: start to terminal state of sagas started at a steady rate (half the
  measured throughput), from the database's own timestamps.

Run: ``make bench NAME=saga`` (or ``uv run python bench/saga_bench.py``). It uses the stack in
``EVENTYARD_STATE_DIR`` (started if needed: PostgreSQL and Kafka only) in a database and topics
of its own, removed afterwards. ``--sagas`` and ``--steady-s`` shrink or grow the run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
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
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from eventyard.outbox import (
    InboxConfig,
    InboxTable,
    KafkaSink,
    Outbox,
    OutboxTable,
    PostgresOutboxStore,
    Relay,
    RelayConfig,
    TopicRouter,
    create_outbox_schema,
    producer_config,
)
from eventyard.saga import (
    Command,
    CommandEnvelope,
    CommandRejected,
    Local,
    Orchestrator,
    OrchestratorConfig,
    Participant,
    SagaDefinition,
    SagaTables,
    Step,
    create_saga_schema,
)
from eventyard.stack import Endpoints, Stack

RESULTS = Path(__file__).resolve().parent / "results" / "saga.json"
SERVICES = ("orders", "customers", "inventory")
PARTITIONS = 16


# ------------------------------------------------------------------------------------ the saga


class Order(BaseModel):
    order_id: str
    customer_id: str
    sku: str
    qty: int
    total: int


def approve(session: Session, order: Order) -> None:
    session.execute(
        sa.text("UPDATE orders.orders SET status = 'APPROVED' WHERE id = :id"),
        {"id": order.order_id},
    )


SAGA = SagaDefinition(
    name="order",
    data=Order,
    steps=[
        Step(
            name="reserve_credit",
            action=Command(participant="customers", name="ReserveCredit"),
            compensation=Command(participant="customers", name="ReleaseCredit"),
        ),
        Step(
            name="reserve_stock",
            action=Command(participant="inventory", name="ReserveStock"),
            compensation=Command(participant="inventory", name="ReleaseStock"),
            pivot=True,
        ),
        Step(name="approve_order", action=Local(run=approve)),
    ],
)


def customers(outbox: Outbox) -> Participant:
    p = Participant("customers", outbox=outbox, tables=SagaTables(schema="customers"))

    @p.handles("ReserveCredit")
    def reserve(session: Session, command: CommandEnvelope) -> None:
        row = session.execute(
            sa.text(
                "UPDATE customers.customer SET reserved = reserved + :t "
                "WHERE id = :c AND reserved + :t <= credit_limit RETURNING id"
            ),
            {"c": command.payload["customer_id"], "t": command.payload["total"]},
        ).first()
        if row is None:
            raise CommandRejected("not enough credit")

    @p.handles("ReleaseCredit")
    def release(session: Session, command: CommandEnvelope) -> None:
        session.execute(
            sa.text("UPDATE customers.customer SET reserved = reserved - :t WHERE id = :c"),
            {"c": command.payload["customer_id"], "t": command.payload["total"]},
        )

    return p


def inventory(outbox: Outbox) -> Participant:
    p = Participant("inventory", outbox=outbox, tables=SagaTables(schema="inventory"))

    @p.handles("ReserveStock")
    def reserve(session: Session, command: CommandEnvelope) -> None:
        row = session.execute(
            sa.text(
                "UPDATE inventory.stock SET available = available - :q "
                "WHERE sku = :s AND available >= :q RETURNING sku"
            ),
            {"s": command.payload["sku"], "q": command.payload["qty"]},
        ).first()
        if row is None:
            raise CommandRejected("out of stock")

    @p.handles("ReleaseStock")
    def release(session: Session, command: CommandEnvelope) -> None:
        session.execute(
            sa.text("UPDATE inventory.stock SET available = available + :q WHERE sku = :s"),
            {"s": command.payload["sku"], "q": command.payload["qty"]},
        )

    return p


# ------------------------------------------------------------------------------------ wiring


def engine(dsn: str, pool: int = 4) -> sa.Engine:
    return sa.create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(dsn), pool_size=pool
    )


def router(prefix: str) -> TopicRouter:
    return TopicRouter(template=prefix + ".{aggregatetype}")


def outbox_table(service: str) -> OutboxTable:
    return OutboxTable(schema=service, partitions=PARTITIONS)


def orchestrator(dsn: str, prefix: str, sessions: sessionmaker[Session]) -> Orchestrator:
    return Orchestrator(
        definitions=[SAGA],
        sessions=sessions,
        outbox=Outbox(table=outbox_table("orders"), router=router(prefix)),
        config=OrchestratorConfig(
            name="bench",
            tables=SagaTables(schema="orders"),
            inbox_table=InboxTable(schema="orders"),
        ),
    )


def serve(role: str, dsn: str, bootstrap: str, prefix: str) -> None:
    """One service process: its relay in a thread, its inbox consumer here, until SIGTERM."""
    service = "orders" if role == "orchestrator" else role
    sessions = sessionmaker(engine(dsn))
    outbox = Outbox(table=outbox_table(service), router=router(prefix))
    relay = Relay(
        store=PostgresOutboxStore(dsn, table=outbox_table(service)),
        sink=lambda: KafkaSink(producer_config(bootstrap, client_id=f"{role}-relay")),
        config=RelayConfig(name=f"{role}-relay", router=router(prefix), poll_interval=0.5),
    )
    threading.Thread(target=relay.run, daemon=True).start()
    kafka = {
        "bootstrap.servers": bootstrap,
        "group.id": f"{prefix}.{role}",
        "fetch.wait.max.ms": 10,
        "auto.commit.interval.ms": 500,
    }
    if role == "orchestrator":
        o = orchestrator(dsn, prefix, sessions)
        inbox = InboxConfig(
            name="saga:replies",
            topics=(o.reply_topic,),
            table=InboxTable(schema="orders"),
            poll_timeout=0.01,
            batch_size=500,
        )
        signal.signal(signal.SIGTERM, lambda *_: o.stop())
        o.run(kafka, inbox=inbox)
    else:
        p = (customers if role == "customers" else inventory)(outbox)
        consumer = p.consumer(
            kafka,
            sessions=sessions,
            inbox=InboxConfig(
                name=f"saga:{role}",
                topics=(p.topic,),
                table=InboxTable(schema=role),
                poll_timeout=0.01,
                batch_size=500,
            ),
        )
        signal.signal(signal.SIGTERM, lambda *_: consumer.stop())
        consumer.run()
    relay.stop()


def create_schema(dsn: str, *, customers_count: int, skus: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for service in SERVICES:
            create_outbox_schema(
                conn, outbox=outbox_table(service), inbox=InboxTable(schema=service)
            )
        create_saga_schema(conn, tables=SagaTables(schema="orders"))
        for service in ("customers", "inventory"):
            create_saga_schema(
                conn, tables=SagaTables(schema=service), orchestrator=False, participant=True
            )
        for statement in (
            "CREATE TABLE orders.orders (id text PRIMARY KEY, status text NOT NULL)",
            "CREATE TABLE customers.customer (id text PRIMARY KEY, credit_limit bigint NOT NULL, "
            "reserved bigint NOT NULL DEFAULT 0)",
            "CREATE TABLE inventory.stock (sku text PRIMARY KEY, available bigint NOT NULL)",
            "CREATE TABLE public.commit_probe (id bigserial PRIMARY KEY, worker int, "
            "at timestamptz NOT NULL DEFAULT now())",
        ):
            conn.execute(statement.encode())
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO customers.customer (id, credit_limit) VALUES (%s, %s)",
                [(f"c{i}", 10**12) for i in range(customers_count)],
            )
            cur.executemany(
                "INSERT INTO inventory.stock (sku, available) VALUES (%s, %s)",
                [(f"s{i}", 10**12) for i in range(skus)],
            )


# ------------------------------------------------------------------------------------ CPU time

_TICK = os.sysconf("SC_CLK_TCK")


def _proc(pid: str) -> tuple[int, float, float, str] | None:
    """(parent pid, own CPU seconds, reaped children's CPU seconds, command line)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return None
    own = (int(stat[11]) + int(stat[12])) / _TICK  # utime, stime
    reaped = (int(stat[13]) + int(stat[14])) / _TICK  # cutime, cstime
    return int(stat[1]), own, reaped, command


def cpu_seconds(roles: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds used so far by PostgreSQL (its live processes and the backends its
    postmaster has reaped), the Kafka broker, and each role's processes."""
    procs = {
        int(entry.name): info
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit() and (info := _proc(entry.name)) is not None
    }
    totals = dict.fromkeys(["postgres", "kafka", *roles], 0.0)
    for pid, (parent, own, reaped, command) in procs.items():
        if "postgres" in command.split(" ", 1)[0] or command.startswith("postgres:"):
            postmaster = parent not in procs or "postgres" not in procs[parent][3]
            totals["postgres"] += own + (reaped if postmaster else 0.0)
        elif command.startswith("/usr/bin/java") and " kafka.Kafka " in command:
            totals["kafka"] += own
        for role, pids in roles.items():
            if pid in pids:
                totals[role] += own
    return totals


# ------------------------------------------------------------------------------------ measuring


def _commit_worker(dsn: str, worker: int, seconds: float, out: Any) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        insert = "INSERT INTO public.commit_probe (worker) VALUES (%s)"
        conn.execute(insert, (worker,))  # connected and warm
        done = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            conn.execute(insert, (worker,))
            done += 1
    out.put(done)


def pg_commits_per_s(dsn: str, *, workers: int = 3, seconds: float = 8.0) -> float:
    """Single-row INSERT transactions per second from ``workers`` client processes."""
    queue: Any = multiprocessing.get_context("spawn").Queue()
    processes = [
        multiprocessing.get_context("spawn").Process(
            target=_commit_worker, args=(dsn, w, seconds, queue)
        )
        for w in range(workers)
    ]
    for p in processes:
        p.start()
    total = sum(queue.get(timeout=seconds + 60) for _ in processes)
    for p in processes:
        p.join(30)
    return float(total) / seconds


def xid_counter(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
    assert row is not None
    return int(row[0])


class Starter:
    """Places orders (one transaction each: the order row and the saga's start)."""

    def __init__(self, dsn: str, prefix: str) -> None:
        self.engine = engine(dsn, pool=4)
        self.sessions = sessionmaker(self.engine)
        self.orchestrator = orchestrator(dsn, prefix, self.sessions)

    def place(self, n: int) -> None:
        order = Order(
            order_id=uuid.uuid4().hex, customer_id=f"c{n % 200}", sku=f"s{n % 50}", qty=1, total=10
        )
        with self.sessions() as session, session.begin():
            session.execute(
                sa.text("INSERT INTO orders.orders (id, status) VALUES (:id, 'PENDING')"),
                {"id": order.order_id},
            )
            self.orchestrator.start(session, SAGA, order)

    def unfinished(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM orders.saga_state WHERE sagastatus NOT IN "
                        "('COMPLETED', 'COMPENSATED')"
                    )
                ).scalar_one()
            )

    def wait_done(self, expected: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self.engine.connect() as conn:
                done = int(
                    conn.execute(
                        sa.text(
                            "SELECT count(*) FROM orders.saga_state WHERE sagastatus = 'COMPLETED'"
                        )
                    ).scalar_one()
                )
            if done >= expected:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"only {done} of {expected} sagas completed")
            time.sleep(0.2)

    def window(self, since_rows: int) -> tuple[float, list[float]]:
        """Seconds from the first start to the last end of the sagas after the first
        ``since_rows`` (by start time), and each one's latency in ms."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT created_at, finished_at FROM orders.saga_state ORDER BY created_at "
                    "OFFSET :skip"
                ),
                {"skip": since_rows},
            ).all()
        first = min(r.created_at for r in rows)
        last = max(r.finished_at for r in rows)
        latencies = [(r.finished_at - r.created_at).total_seconds() * 1000 for r in rows]
        return (last - first).total_seconds(), latencies


def burst(starter: Starter, count: int, offset: int, threads: int = 2) -> None:
    def run(part: int) -> None:
        for n in range(offset + part, offset + count, threads):
            starter.place(n)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def steady(starter: Starter, rate: float, seconds: float, offset: int) -> int:
    """Start sagas at ``rate`` per second for ``seconds``; how many were started."""
    count = int(rate * seconds)
    began = time.monotonic()
    for i in range(count):
        wait = began + i / rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        starter.place(offset + i)
    return count


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=("orchestrator", "customers", "inventory"))
    parser.add_argument("--dsn")
    parser.add_argument("--kafka")
    parser.add_argument("--prefix")
    parser.add_argument("--sagas", type=int, default=3000)
    parser.add_argument("--steady-s", type=float, default=30.0)
    parser.add_argument(
        "--processes", type=int, default=1, help="processes per service (and commit probes)"
    )
    args = parser.parse_args()
    if args.role:
        serve(args.role, args.dsn, args.kafka, args.prefix)
        return
    run_benchmark(sagas=args.sagas, steady_s=args.steady_s, per_service=args.processes)


def endpoints() -> tuple[str, str]:
    """PostgreSQL and Kafka: from the environment, else the local stack (started if needed)."""
    given = Endpoints.from_env()
    pg, kafka = given.pg_dsn, given.kafka_bootstrap
    if pg is None or kafka is None:
        stack = Stack()
        stack.up(["postgres", "kafka"])
        pg = pg or stack.components["postgres"].endpoints()["EVENTYARD_PG_DSN"]
        kafka = kafka or stack.components["kafka"].endpoints()["EVENTYARD_KAFKA_BOOTSTRAP"]
    return pg, kafka


def measure(
    dsn: str, kafka: str, prefix: str, *, sagas: int, steady_s: float, per_service: int
) -> dict[str, Any]:
    """The whole measurement on a prepared database and topics; the result's numbers."""
    create_schema(dsn, customers_count=200, skus=50)
    print("measuring single-row commits/s ...", flush=True)
    commits = pg_commits_per_s(dsn, workers=3 * per_service)
    print(f"  {commits:.0f} commits/s", flush=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for role in ("orchestrator", "customers", "inventory") * per_service:
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--role",
                        role,
                        "--dsn",
                        dsn,
                        "--kafka",
                        kafka,
                        "--prefix",
                        prefix,
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        starter = Starter(dsn, prefix)
        warmup = 200
        print(f"warming up ({warmup} sagas) ...", flush=True)
        burst(starter, warmup, 0)
        starter.wait_done(warmup)
        time.sleep(2)
        roles: dict[str, list[int]] = {"starter": [os.getpid()]}
        for role, process in zip(
            ("orchestrator", "customers", "inventory") * per_service, processes, strict=True
        ):
            roles.setdefault(role, []).append(process.pid)
        xid_before = xid_counter(dsn)
        cpu_before = cpu_seconds(roles)
        print(f"throughput: {sagas} sagas started at once ...", flush=True)
        burst(starter, sagas, warmup)
        starter.wait_done(warmup + sagas)
        time.sleep(3)  # let the relays delete the last outbox rows (their commits count too)
        xid_after = xid_counter(dsn)
        cpu_after = cpu_seconds(roles)
        cpu_ms_per_saga = {
            role: round((cpu_after[role] - cpu_before[role]) * 1000 / sagas, 2)
            for role in cpu_after
        }
        print(f"  CPU ms per saga: {cpu_ms_per_saga}", flush=True)
        elapsed, _ = starter.window(warmup)
        sagas_per_s = sagas / max(elapsed, 1e-9)
        commits_per_saga = (xid_after - xid_before) / sagas
        print(
            f"  {sagas_per_s:.1f} sagas/s, {commits_per_saga:.2f} write transactions per saga",
            flush=True,
        )
        rate = max(1.0, sagas_per_s / 2)
        print(f"latency: {rate:.0f} sagas/s for {steady_s:.0f} s ...", flush=True)
        before = warmup + sagas
        started = steady(starter, rate, steady_s, before)
        starter.wait_done(before + started)
        _, latencies = starter.window(before)
        print(f"  {len(latencies)} sagas, mean {statistics.fmean(latencies):.1f} ms", flush=True)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    bound = commits / commits_per_saga
    return {
        "sagas_per_s": round(sagas_per_s, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "pg_commits_per_s": round(commits, 1),
        "commits_per_saga": round(commits_per_saga, 2),
        "bound_sagas_per_s": round(bound, 1),
        "ratio_vs_bound": round(sagas_per_s / bound, 3),
        "cpu_ms_per_saga": cpu_ms_per_saga,
    }


def run_benchmark(*, sagas: int, steady_s: float, per_service: int) -> None:
    result = run(sagas=sagas, steady_s=steady_s, per_service=per_service)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"(machine: {os.cpu_count()} CPUs; the stack and these processes share them)")


def saga_throughput(*, sagas: int) -> float:
    """``sagas_per_s`` of this benchmark's setup (other benchmarks compare against it)."""
    return float(run(sagas=sagas, steady_s=2.0, per_service=1)["sagas_per_s"])


def run(*, sagas: int, steady_s: float, per_service: int) -> dict[str, Any]:
    """The whole benchmark in a database and topics of its own, removed afterwards."""
    pg, kafka = endpoints()
    name = f"saga_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    info = psycopg.conninfo.conninfo_to_dict(pg)
    info["dbname"] = name
    dsn = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
    prefix = f"bench.{name}"
    topics = [
        router(prefix).topic(c)
        for c in ("customers.commands", "inventory.commands", "saga.replies")
    ]
    admin = AdminClient({"bootstrap.servers": kafka})
    for future in admin.create_topics(
        [NewTopic(t, num_partitions=3, replication_factor=1) for t in topics]
    ).values():
        future.result(30)
    try:
        result = measure(
            dsn, kafka, prefix, sagas=sagas, steady_s=steady_s, per_service=per_service
        )
    finally:
        for future in admin.delete_topics(topics).values():
            try:
                future.result(30)
            except Exception as error:
                print(f"could not delete a topic: {error}")
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    return result


if __name__ == "__main__":
    main()
