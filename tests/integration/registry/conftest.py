"""A real registry for each test module: uvicorn in a thread, on a PostgreSQL database of its own.

Each module gets a fresh database (made from ``pg_dsn``) and a server on a free port
(``own_registry_url``; the stack plugin's ``registry_url`` is the long-running one); each test
gets its own subject names, a fresh ``SchemaRegistryClient`` (no cache shared between tests)
and an httpx client for the raw answers.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx
import psycopg
import pytest
import uvicorn
from confluent_kafka.schema_registry import SchemaRegistryClient
from fastapi import FastAPI
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from eventyard_schema_registry import Settings, bootstrap, create_app

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"

Serve = Callable[[FastAPI], AbstractContextManager[str]]
NewDatabase = Callable[[], AbstractContextManager[str]]


@contextmanager
def _serving(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port; its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the registry did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()


@pytest.fixture(scope="session")
def serve() -> Serve:
    """Context manager that serves an app on a free port and gives its URL."""
    return _serving


@pytest.fixture(scope="session")
def new_database(pg_dsn: str) -> NewDatabase:
    """Context manager that makes an empty database, gives its DSN, and drops it afterwards."""

    @contextmanager
    def make() -> Iterator[str]:
        name = f"registry_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        info = {k: str(v) for k, v in conninfo_to_dict(pg_dsn).items() if v is not None}
        info["dbname"] = name
        try:
            yield make_conninfo(**info)
        finally:
            with psycopg.connect(pg_dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )

    return make


@pytest.fixture(scope="module")
def own_registry_dsn(new_database: NewDatabase) -> Iterator[str]:
    """DSN of this module's own database."""
    with new_database() as dsn:
        yield dsn


@pytest.fixture(scope="module")
def own_registry_url(own_registry_dsn: str, serve: Serve) -> Iterator[str]:
    """Base URL of this module's registry, served from ``own_registry_dsn``."""
    settings = Settings(dsn=own_registry_dsn)
    registry = bootstrap(settings)
    try:
        with serve(create_app(settings, registry=registry)) as url:
            yield url
    finally:
        registry.close()


@pytest.fixture
def client(own_registry_url: str) -> SchemaRegistryClient:
    """confluent-kafka's own registry client, pointed at our registry."""
    return SchemaRegistryClient({"url": own_registry_url})


@pytest.fixture
def http(own_registry_url: str) -> Iterator[httpx.Client]:
    """Raw HTTP to the registry, sending Confluent's content type."""
    with httpx.Client(
        base_url=own_registry_url, headers={"Content-Type": CONTENT_TYPE}, timeout=30
    ) as session:
        yield session


@pytest.fixture
def subject(unique_name: Callable[[str], str]) -> Callable[[str], str]:
    """Factory of subject names unique to this test: ``subject("orders")``."""

    def make(prefix: str = "s") -> str:
        return f"{unique_name(prefix)}-value"

    return make
