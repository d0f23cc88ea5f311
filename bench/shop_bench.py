"""The reference shop under load: writes bench/results/shop.json.

The four services (orders, customers, inventory, order-history) run as real processes started
by this benchmark, on databases and topics of their own (removed afterwards), against the local
stack's PostgreSQL, Kafka, Connect and registry, and Jaeger for the traced phase.

- ``orders_per_s``: 32 closed-loop HTTP clients for ``--seconds`` (60): each places an order
  (``POST /orders``), waits until it is APPROVED or REJECTED, and places the next. Counted: orders
  that reached a terminal state inside the window. Tracing is off in this phase.
- ``p50_ms``, ``p99_ms``: ``POST`` to terminal, from the orders database's own timestamps.
- ``read_model_lag_p99_ms``: terminal state to visible in order-history (the read model's
  ``applied_at`` against the order's ``finished_at``; one PostgreSQL server, one clock).
- ``orders_per_s_traced`` and ``tracing_overhead_ratio``: the same run with every span sampled
  and exported to Jaeger, divided by the untraced rate.
- ``saga_sagas_per_s``: bench/saga_bench.py's own setup (a minimal three-step saga) measured
  in the same run; ``ratio_shop_vs_saga`` = ``orders_per_s / saga_sagas_per_s``.
- ``cpu_ms_per_order``: CPU milliseconds per order of each service process, PostgreSQL, the
  Kafka broker, Connect and the load generator, in the untraced phase.

Clients learn that their order settled from one watcher that reads the orders database every
10 ms (a single query for all waiting orders), so the measurement does not add thousands of
``GET`` requests to the services it measures.

Run: ``make bench NAME=shop`` (or ``uv run python bench/shop_bench.py --seconds 20``).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import psycopg

from eventyard.stack import Stack, drop_replication_slot

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "shop.json"
SERVICES = {  # name: (module, port)
    "customers": ("eventyard_customers", 58211),
    "inventory": ("eventyard_inventory", 58212),
    "orders": ("eventyard_orders", 58213),
    "order-history": ("eventyard_order_history", 58214),
}
CUSTOMERS = 200
SKUS = 50


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


saga_bench = _load("saga_bench", HERE / "saga_bench.py")


def env_name(service: str, field: str) -> str:
    return f"EVENTYARD_{service.upper().replace('-', '_')}_{field.upper()}"


class Shop:
    """The four services as processes, on databases named after this run."""

    def __init__(self, endpoints: dict[str, str], run: str) -> None:
        self.endpoints = endpoints
        self.run = run
        self.prefix = f"bench-{run}"
        self.databases = {s: f"bench_{run}_{s.replace('-', '_')}" for s in SERVICES}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.seeded: tuple[list[str], list[str]] | None = None

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{SERVICES[service][1]}"

    def dsn(self, service: str) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.endpoints["EVENTYARD_PG_DSN"])
        info["dbname"] = self.databases[service]
        return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v})

    def environment(self, *, traced: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTYARD_")}
        for key in (
            "EVENTYARD_PG_DSN",
            "EVENTYARD_KAFKA_BOOTSTRAP",
            "EVENTYARD_REGISTRY_URL",
            "EVENTYARD_CONNECT_URL",
        ):
            env[key] = self.endpoints[key]
        env["EVENTYARD_SHOP_TOPIC_PREFIX"] = self.prefix
        for service in SERVICES:
            env[env_name(service, "database")] = self.databases[service]
        # order-history reads the orders and customers databases through Debezium.
        env[env_name("order-history", "orders_database")] = self.databases["orders"]
        env[env_name("order-history", "customers_database")] = self.databases["customers"]
        env[env_name("order-history", "projection_group")] = f"{self.prefix}.order-history"
        env[env_name("order-history", "stats_app_id")] = f"{self.prefix}-sku-stats"
        if traced:
            env["EVENTYARD_OTLP_ENDPOINT"] = self.endpoints["EVENTYARD_OTLP_ENDPOINT"]
            env["EVENTYARD_TRACE_SAMPLE_RATIO"] = "1.0"
        return env

    def start(self, *, traced: bool) -> None:
        env = self.environment(traced=traced)
        logs = HERE / "results" / "shop-logs"
        logs.mkdir(parents=True, exist_ok=True)
        for service, (module, port) in SERVICES.items():
            with (logs / f"{service}.log").open("ab") as log:
                self.processes[service] = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        module,
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        deadline = time.monotonic() + 180
        for service in SERVICES:
            while True:
                try:
                    if httpx.get(f"{self.url(service)}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if self.processes[service].poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{service} did not become ready; see {logs}/{service}.log")
                time.sleep(0.3)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        self.processes.clear()

    def pids(self) -> dict[str, list[int]]:
        return {service: [p.pid] for service, p in self.processes.items()}

    def drop(self) -> None:
        connect = self.endpoints["EVENTYARD_CONNECT_URL"]
        for name in httpx.get(f"{connect}/connectors", timeout=10).json():
            if name.startswith(self.prefix):
                httpx.delete(f"{connect}/connectors/{name}", timeout=30)
        with psycopg.connect(self.endpoints["EVENTYARD_PG_DSN"], autocommit=True) as conn:
            slots = conn.execute(
                "SELECT slot_name FROM pg_replication_slots WHERE database = ANY(%s)",
                (list(self.databases.values()),),
            ).fetchall()
            for (slot,) in slots:
                drop_replication_slot(self.endpoints["EVENTYARD_PG_DSN"], slot)
            for database in self.databases.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'.encode())


def seed(shop: Shop) -> tuple[list[str], list[str]]:
    with httpx.Client(timeout=30) as http:
        customers = [
            http.post(
                f"{shop.url('customers')}/customers",
                json={"name": f"bench {i}", "credit_limit": 10**12},
            ).json()["id"]
            for i in range(CUSTOMERS)
        ]
        skus = []
        for i in range(SKUS):
            sku = f"bench-{i}"
            http.post(
                f"{shop.url('inventory')}/products",
                json={"sku": sku, "name": sku, "price": 100 + i, "stock": 10**9},
            ).raise_for_status()
            skus.append(sku)
    return customers, skus


class Watcher:
    """Resolves each waiting client's future when its order is terminal in the orders database."""

    def __init__(self, dsn: str, loop: asyncio.AbstractEventLoop) -> None:
        self.dsn = dsn
        self.loop = loop
        self.waiting: dict[str, asyncio.Future[str]] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def wait(self, order_id: str) -> asyncio.Future[str]:
        future: asyncio.Future[str] = self.loop.create_future()
        with self.lock:
            self.waiting[order_id] = future
        return future

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.stopped.is_set():
                with self.lock:
                    ids = list(self.waiting)
                if ids:
                    rows = conn.execute(
                        "SELECT id::text, status FROM orders WHERE id = ANY(%s::uuid[]) "
                        "AND status <> 'PENDING'",
                        (ids,),
                    ).fetchall()
                    for order_id, status in rows:
                        with self.lock:
                            future = self.waiting.pop(order_id)
                        self.loop.call_soon_threadsafe(future.set_result, status)
                time.sleep(0.01)

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)


async def closed_loop(
    shop: Shop, customers: list[str], skus: list[str], *, clients: int, seconds: float
) -> tuple[list[str], float]:
    """``clients`` loops of place-then-wait for ``seconds``; the orders settled in the window."""
    loop = asyncio.get_running_loop()
    watcher = Watcher(shop.dsn("orders"), loop)
    settled: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=shop.url("orders"), timeout=60, limits=limits) as http:
        end = time.monotonic() + seconds

        async def client(n: int) -> None:
            i = 0
            while time.monotonic() < end:
                body = {
                    "customer_id": customers[(n * 7 + i) % len(customers)],
                    "lines": [{"sku": skus[(n + i) % len(skus)], "quantity": 1 + i % 3}],
                }
                response = await http.post("/orders", json=body)
                response.raise_for_status()
                order_id = response.json()["id"]
                await watcher.wait(order_id)
                if time.monotonic() <= end:
                    settled.append(order_id)
                i += 1

        began = time.monotonic()
        await asyncio.gather(*(client(n) for n in range(clients)))
        elapsed = min(time.monotonic(), end) - began
    watcher.close()
    return settled, elapsed


def latencies(shop: Shop, ids: list[str]) -> tuple[list[float], list[float]]:
    """POST-to-terminal and terminal-to-read-model milliseconds of the given orders."""
    with psycopg.connect(shop.dsn("orders")) as conn:
        rows = conn.execute(
            "SELECT id::text, created_at, finished_at FROM orders WHERE id = ANY(%s::uuid[])",
            (ids,),
        ).fetchall()
    finished = {r[0]: r[2] for r in rows}
    done = [(r[2] - r[1]).total_seconds() * 1000 for r in rows]
    lags: list[float] = []
    deadline = time.monotonic() + 120
    with psycopg.connect(shop.dsn("order-history")) as conn:
        while True:
            visible = conn.execute(
                "SELECT order_id::text, applied_at FROM order_history.customer_orders "
                "WHERE order_id = ANY(%s::uuid[]) AND status <> 'PENDING'",
                (ids,),
            ).fetchall()
            if len(visible) >= len(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    for order_id, applied_at in visible:
        lags.append(max(0.0, (applied_at - finished[order_id]).total_seconds() * 1000))
    return done, lags


def phase(shop: Shop, *, traced: bool, seconds: float, clients: int) -> dict[str, Any]:
    shop.start(traced=traced)
    try:
        if shop.seeded is None:
            shop.seeded = seed(shop)
        customers, skus = shop.seeded
        print(f"  warming up ({'traced' if traced else 'untraced'}) ...", flush=True)
        asyncio.run(closed_loop(shop, customers, skus, clients=clients, seconds=5))
        roles = {**shop.pids(), "load": [os.getpid()]}
        before = saga_bench.cpu_seconds(roles)
        settled, elapsed = asyncio.run(
            closed_loop(shop, customers, skus, clients=clients, seconds=seconds)
        )
        after = saga_bench.cpu_seconds(roles)
    finally:
        shop.stop()
    rate = len(settled) / elapsed
    print(f"  {len(settled)} orders in {elapsed:.1f} s: {rate:.1f} orders/s", flush=True)
    cpu = {role: round(after[role] - before[role], 1) for role in after}
    print(f"  CPU seconds: {cpu}", flush=True)
    return {
        "orders_per_s": rate,
        "settled": settled,
        "cpu_ms_per_order": {
            role: round((after[role] - before[role]) * 1000 / max(len(settled), 1), 2)
            for role in after
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--sagas", type=int, default=2000, help="sagas of the saga benchmark")
    args = parser.parse_args()
    stack = Stack()
    stack.up(["postgres", "kafka", "connect", "registry", "jaeger"])
    # The stack's own shop services would share the CPU (their consumers and relays poll while
    # idle): stopped while this runs, started again afterwards.
    running = {s.name for s in stack.status() if s.pid is not None}
    paused = [name for name in reversed(SERVICES) if name in running]
    for name in paused:
        stack.stop(name)
    endpoints = stack.endpoints()
    shop = Shop(endpoints, uuid.uuid4().hex[:8])
    try:
        print("shop, tracing off ...", flush=True)
        plain = phase(shop, traced=False, seconds=args.seconds, clients=args.clients)
        done, lags = latencies(shop, plain["settled"])
        print("shop, every span exported to Jaeger ...", flush=True)
        traced = phase(shop, traced=True, seconds=args.seconds, clients=args.clients)
        print("the saga benchmark's own setup ...", flush=True)
        saga = saga_bench.saga_throughput(sagas=args.sagas)
    finally:
        shop.stop()
        shop.drop()
        if paused:
            stack.up(paused)
    result = {
        "orders_per_s": round(plain["orders_per_s"], 1),
        "p50_ms": round(saga_bench.percentile(done, 50), 1),
        "p99_ms": round(saga_bench.percentile(done, 99), 1),
        "read_model_lag_p99_ms": round(saga_bench.percentile(lags, 99), 1) if lags else None,
        "read_model_lag_p50_ms": round(saga_bench.percentile(lags, 50), 1) if lags else None,
        "saga_sagas_per_s": saga,
        "ratio_shop_vs_saga": round(plain["orders_per_s"] / saga, 3),
        "orders_per_s_traced": round(traced["orders_per_s"], 1),
        "tracing_overhead_ratio": round(traced["orders_per_s"] / plain["orders_per_s"], 3),
        "cpu_ms_per_order": plain["cpu_ms_per_order"],
        "cpu_ms_per_order_traced": traced["cpu_ms_per_order"],
        "clients": args.clients,
        "seconds": args.seconds,
        "mean_ms": round(statistics.fmean(done), 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"(machine: {os.cpu_count()} CPUs; the stack, the services and the load share them)")


if __name__ == "__main__":
    main()
