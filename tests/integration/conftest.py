"""Helpers shared by the integration tests: reading topics and managing Debezium connectors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import Consumer, Message


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


Consume = Callable[..., list[Message]]


@pytest.fixture
def consume(kafka_bootstrap: str) -> Consume:
    """Read ``topic`` from the start until ``count`` messages arrived (or ``timeout_s`` passed)."""

    def read(
        topic: str,
        count: int,
        *,
        timeout_s: float = 60.0,
        isolation: str = "read_uncommitted",
        until: Callable[[list[Message]], bool] | None = None,
    ) -> list[Message]:
        consumer = Consumer(
            {
                "bootstrap.servers": kafka_bootstrap,
                "group.id": f"test-{topic}-{time.monotonic_ns()}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": isolation,
            }
        )
        consumer.subscribe([topic])
        got: list[Message] = []
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline and len(got) < count:
                message = consumer.poll(0.5)
                if message is None or message.error():
                    continue
                got.append(message)
                if until is not None and until(got):
                    break
        finally:
            consumer.close()
        return got

    return read


class Connectors:
    """Registers Debezium connectors through Connect's REST API and removes them afterwards."""

    def __init__(self, url: str, pg_dsn: str) -> None:
        self.url = url
        self.pg_dsn = pg_dsn
        self.created: list[tuple[str, str]] = []

    def create(self, name: str, config: dict[str, Any], *, slot: str) -> None:
        response = httpx.put(f"{self.url}/connectors/{name}/config", json=config, timeout=30)
        assert response.status_code in {200, 201}, response.text
        self.created.append((name, slot))
        self.wait_running(name)

    def wait_running(self, name: str, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        last: Any = None
        while time.monotonic() < deadline:
            response = httpx.get(f"{self.url}/connectors/{name}/status", timeout=10)
            if response.status_code == 200:
                last = response.json()
                tasks = last.get("tasks", [])
                if last["connector"]["state"] == "RUNNING" and tasks:
                    states = {t["state"] for t in tasks}
                    if states == {"RUNNING"}:
                        return
                    if "FAILED" in states:
                        pytest.fail(f"connector {name} failed: {last}")
            time.sleep(0.5)
        pytest.fail(f"connector {name} not running after {timeout_s} s: {last}")

    def remove_all(self) -> None:
        for name, slot in self.created:
            httpx.delete(f"{self.url}/connectors/{name}", timeout=30)
            self._drop_slot(slot)

    def _drop_slot(self, slot: str) -> None:
        deadline = time.monotonic() + 30
        with psycopg.connect(self.pg_dsn, autocommit=True) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)
                ).fetchone()
                if row is None:
                    return
                if not row[0]:
                    conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                    return
                time.sleep(0.2)


@pytest.fixture
def connectors(connect_url: str, pg_dsn: str) -> Iterator[Connectors]:
    """Debezium connectors made by this test, deleted (with their slots) afterwards."""
    made = Connectors(connect_url, pg_dsn)
    yield made
    made.remove_all()
