"""Helpers shared by the integration tests: reading topics and managing Debezium connectors."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaException, Message
from confluent_kafka.admin import AdminClient

from eventyard.stack import ConnectClient, drop_replication_slot

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
    """Debezium connectors registered by one test, removed afterwards with their slots and the
    topics they wrote (``<topic.prefix>.*`` and their heartbeat topic)."""

    def __init__(self, url: str, pg_dsn: str, kafka_bootstrap: str) -> None:
        self.client = ConnectClient(url)
        self.pg_dsn = pg_dsn
        self.kafka_bootstrap = kafka_bootstrap
        self.created: list[tuple[str, str]] = []
        self.prefixes: set[str] = set()

    def create(self, name: str, config: dict[str, Any], *, slot: str) -> None:
        self.client.put(name, config)
        self.created.append((name, slot))
        if "topic.prefix" in config:
            self.prefixes.add(config["topic.prefix"])
        self.client.wait_running(name)

    def wait_running(self, name: str) -> None:
        self.client.wait_running(name)

    def remove_all(self) -> None:
        for name, slot in self.created:
            self.client.delete(name)
            drop_replication_slot(self.pg_dsn, slot)
        self.client.close()
        delete_topics(
            self.kafka_bootstrap,
            [f"{p}." for p in self.prefixes] + [f"__debezium-heartbeat.{p}" for p in self.prefixes],
        )


def delete_topics(bootstrap: str, prefixes: Iterable[str]) -> None:
    """Delete the topics whose names start with one of ``prefixes``."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    starts = tuple(prefixes)
    doomed = [t for t in admin.list_topics(timeout=10).topics if starts and t.startswith(starts)]
    if doomed:
        for future in admin.delete_topics(doomed).values():
            with contextlib.suppress(KafkaException):
                future.result(30)


@pytest.fixture
def topics_made(kafka_bootstrap: str) -> Iterator[list[str]]:
    """Name prefixes of topics a test makes outside the other fixtures; deleted afterwards."""
    prefixes: list[str] = []
    yield prefixes
    delete_topics(kafka_bootstrap, prefixes)


@pytest.fixture
def connectors(connect_url: str, pg_dsn: str, kafka_bootstrap: str) -> Iterator[Connectors]:
    """Debezium connectors made by this test, deleted (with their slots and topics) afterwards."""
    made = Connectors(connect_url, pg_dsn, kafka_bootstrap)
    yield made
    made.remove_all()
