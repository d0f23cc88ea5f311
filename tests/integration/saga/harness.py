"""The shop's test harness: its services as real processes, its topics, waiting by counting.

Shared by the integration tests (tests/integration/saga) and the fault tests (tests/fault/saga).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from tests.integration.saga import shop as shop_module
from tests.support.eventually import eventually

SHOP_PATH = Path(__file__).with_name("shop.py")  # also run as a script, one per service


class Service:
    """One shop service as a subprocess (its own relay thread inside), log in a file."""

    def __init__(self, role: str, name: str, *, env: dict[str, str], args: list[str], log: Path):
        self.role = role
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(SHOP_PATH), role, *args, "--name", name],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """``kill -9``: the process dies mid-transaction, mid-batch, mid-poll."""
        if self.alive:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def terminate(self) -> None:
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class ShopEnv:
    """A database with the shop's schemas, its topics, the test's Shop and running services."""

    dsn: str
    kafka: str
    prefix: str
    logs: Path
    tuning: Any
    shop: Any = None
    services: list[Service] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.shop = shop_module.Shop(self.dsn, self.prefix, self.tuning)

    def start(self, role: str, name: str | None = None) -> Service:
        name = name or role
        env = {**os.environ, "SHOP_TUNING": self.tuning.to_env()}
        args = ["--dsn", self.dsn, "--kafka", self.kafka, "--prefix", self.prefix]
        service = Service(role, name, env=env, args=args, log=self.logs / f"{name}.log")
        self.services.append(service)
        return service

    def running(self, name: str) -> Service | None:
        """The live service called ``name`` (None if it is not running)."""
        for service in reversed(self.services):
            if service.name == name and service.alive:
                return service
        return None

    def start_all(self) -> None:
        for role in ("orchestrator", "customers", "inventory"):
            self.start(role)

    def stop_all(self) -> None:
        for service in self.services:
            service.terminate()

    def log_tail(self, lines: int = 30) -> str:
        text = []
        for path in sorted(self.logs.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            text.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(text)

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
        """Wait for a count to be reached; the timeout only ends a hang (never a timed assert)."""
        try:
            eventually(condition, timeout=timeout, interval=0.1, description=what)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.log_tail()}") from error

    def status(self, saga_id: uuid.UUID) -> str:
        return str(
            self.shop.scalar("SELECT sagastatus FROM orders.saga_state WHERE id = :id", id=saga_id)
        )

    def wait_status(self, saga_id: uuid.UUID, *statuses: str, timeout: float = 120.0) -> str:
        self.wait(
            lambda: self.status(saga_id) in statuses, f"saga {saga_id} to be {statuses}", timeout
        )
        return self.status(saga_id)

    def log_lines(self, saga_id: uuid.UUID) -> list[Any]:
        return list(
            self.shop.rows(
                "SELECT step, phase, attempt, command, outcome, detail, reply, trace_id "
                "FROM orders.saga_step_log WHERE saga_id = :id ORDER BY seq",
                id=saga_id,
            )
        )


def make_topics(kafka: str, prefix: str, partitions: int = 3) -> list[str]:
    names = shop_module.topics(prefix)
    admin = AdminClient({"bootstrap.servers": kafka})
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
    )
    for future in futures.values():
        future.result(30)
    return names


def drop_topics(kafka: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": kafka})
    for future in admin.delete_topics(names).values():
        with contextlib.suppress(Exception):
            future.result(30)
