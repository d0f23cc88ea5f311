"""pytest fixtures handing the real stack to tests.

Endpoints given in the environment (``EVENTYARD_PG_DSN``, ``EVENTYARD_KAFKA_BOOTSTRAP``,
``EVENTYARD_CONNECT_URL``, ``EVENTYARD_REGISTRY_URL``, ``EVENTYARD_TRACES_URL``,
``EVENTYARD_ORDERS_URL``, ...) are used as they are; anything missing
is started locally with :class:`~eventyard.stack.Stack` (a running stack is reused, and left
running afterwards), or with ``EVENTYARD_STACK_BACKEND=containers`` from docker-compose.yml.
Each test gets its own database and unique topic names.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from psycopg import sql

from eventyard.stack._containers import ComposeStack
from eventyard.stack._endpoints import Endpoints
from eventyard.stack._runner import Stack
from eventyard.stack._settings import StackSettings, find_project_root

__all__ = [
    "connect_url",
    "customers_url",
    "eventyard_endpoints",
    "inventory_url",
    "kafka_bootstrap",
    "local_stack",
    "new_topic",
    "order_history_url",
    "orders_url",
    "otlp_endpoint",
    "pg_database",
    "pg_dsn",
    "registry_url",
    "traces_url",
    "unique_name",
]

_COMPONENT_FOR = {
    "pg_dsn": "postgres",
    "kafka_bootstrap": "kafka",
    "connect_url": "connect",
    "registry_url": "registry",
    "otlp_endpoint": "jaeger",
    "traces_url": "jaeger",
    "orders_url": "orders",
    "customers_url": "customers",
    "inventory_url": "inventory",
    "order_history_url": "order-history",
}


class _StackSession:
    """Starts local components (or the compose project) on first use; remembers the endpoints."""

    def __init__(self) -> None:
        self.given = Endpoints.from_env()
        self.endpoints = self.given
        self.settings = StackSettings()
        self._stack: Stack | None = None
        self.compose: ComposeStack | None = None

    @property
    def stack(self) -> Stack:
        if self._stack is None:
            self._stack = Stack(self.settings)
        return self._stack

    def require(self, attribute: str) -> str:
        value = getattr(self.endpoints, attribute)
        if value is None and self.settings.stack_backend == "containers":
            self.compose = ComposeStack(find_project_root())
            self.endpoints = self.given.merged(self.compose.up())
            value = getattr(self.endpoints, attribute)
        if value is None:
            name = _COMPONENT_FOR[attribute]
            self.stack.up([name])
            started = Endpoints.from_mapping(self.stack.components[name].endpoints())
            self.endpoints = self.endpoints.merged(started)
            value = getattr(self.endpoints, attribute)
        assert isinstance(value, str)
        return value


@pytest.fixture(scope="session")
def _eventyard_session() -> Iterator[_StackSession]:
    session = _StackSession()
    yield session
    if session.compose is not None:
        session.compose.down()


@pytest.fixture(scope="session")
def pg_dsn(_eventyard_session: _StackSession) -> str:
    """DSN of the stack's PostgreSQL server (a superuser on the ``postgres`` database)."""
    return _eventyard_session.require("pg_dsn")


@pytest.fixture(scope="session")
def kafka_bootstrap(_eventyard_session: _StackSession) -> str:
    """Bootstrap servers of the stack's Kafka."""
    return _eventyard_session.require("kafka_bootstrap")


@pytest.fixture(scope="session")
def connect_url(_eventyard_session: _StackSession) -> str:
    """Base URL of the stack's Kafka Connect REST API (Debezium installed)."""
    return _eventyard_session.require("connect_url")


@pytest.fixture(scope="session")
def registry_url(_eventyard_session: _StackSession) -> str:
    """Base URL of the stack's Confluent-compatible schema registry."""
    return _eventyard_session.require("registry_url")


@pytest.fixture(scope="session")
def otlp_endpoint(_eventyard_session: _StackSession) -> str:
    """Base URL of the stack's OTLP/HTTP receiver (Jaeger)."""
    return _eventyard_session.require("otlp_endpoint")


@pytest.fixture(scope="session")
def traces_url(_eventyard_session: _StackSession) -> str:
    """Base URL of Jaeger's query API (``/api/traces/<id>``)."""
    return _eventyard_session.require("traces_url")


@pytest.fixture(scope="session")
def orders_url(_eventyard_session: _StackSession) -> str:
    """Base URL of the orders service."""
    return _eventyard_session.require("orders_url")


@pytest.fixture(scope="session")
def customers_url(_eventyard_session: _StackSession) -> str:
    """Base URL of the customers service."""
    return _eventyard_session.require("customers_url")


@pytest.fixture(scope="session")
def inventory_url(_eventyard_session: _StackSession) -> str:
    """Base URL of the inventory service."""
    return _eventyard_session.require("inventory_url")


@pytest.fixture(scope="session")
def order_history_url(_eventyard_session: _StackSession) -> str:
    """Base URL of the order-history read model service."""
    return _eventyard_session.require("order_history_url")


@pytest.fixture(scope="session")
def eventyard_endpoints(_eventyard_session: _StackSession) -> Endpoints:
    """Every endpoint known so far (request the single fixtures to start components)."""
    return _eventyard_session.endpoints


@pytest.fixture(scope="session")
def local_stack(_eventyard_session: _StackSession) -> Stack:
    """The local :class:`Stack`, for tests that kill or restart components.

    Skips when the endpoints come from the environment: processes elsewhere cannot be killed.
    """
    if any(getattr(_eventyard_session.given, a) for a in _COMPONENT_FOR):
        pytest.skip("endpoints come from the environment; no local processes to kill")
    if _eventyard_session.settings.stack_backend != "local":
        pytest.skip("the stack runs in containers; no local processes to kill")
    return _eventyard_session.stack


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """A factory of names unique to this test run: ``unique_name("orders")``."""
    test = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:30]

    def make(prefix: str) -> str:
        return f"{prefix}_{test}_{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def pg_database(pg_dsn: str, unique_name: Callable[[str], str]) -> Iterator[str]:
    """A fresh, empty database for this test; its DSN. Dropped afterwards."""
    name = unique_name("t")
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    info["dbname"] = name
    yield psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def new_topic(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> Iterator[Callable[..., str]]:
    """A factory that creates a uniquely named topic: ``new_topic("orders", partitions=3)``."""
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    created: list[str] = []

    def make(prefix: str = "topic", *, partitions: int = 1) -> str:
        name = unique_name(prefix)
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1)]
        )
        futures[name].result(timeout=30)
        created.append(name)
        return name

    yield make
    if created:
        for future in admin.delete_topics(created).values():
            future.result(timeout=30)
