"""Fixtures of the eventyard.cdc integration tests: a source database with a Debezium connector,
and a way to run a projection until it equals its source."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from eventyard.cdc import ProjectionRunner
from eventyard.stack import postgres_connector_config


class Source:
    """A fresh source database and the Debezium connectors streaming it."""

    def __init__(self, dsn: str, connectors: Any, unique_name: Callable[[str], str]) -> None:
        self.dsn = dsn
        self.connectors = connectors
        self.prefix = unique_name("cdc")
        self.slot = unique_name("slot")

    def sql(self, statement: str, params: Any = None) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(statement, params)

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(query).fetchall()

    def connect(self, tables: list[str], **extra: str) -> None:
        """Register the connector: initial snapshot, truncates and transaction metadata on."""
        config = postgres_connector_config(
            self.dsn,
            prefix=self.prefix,
            slot=self.slot,
            tables=tables,
            **{
                "skipped.operations": "none",
                "provide.transaction.metadata": "true",
                "snapshot.mode": "initial",
                "topic.creation.default.replication.factor": "1",
                "topic.creation.default.partitions": "1",
                **extra,
            },
        )
        self.connectors.create(self.prefix, config, slot=self.slot)

    def topic(self, table: str) -> str:
        return f"{self.prefix}.{table}"


@pytest.fixture
def source(pg_database: str, connectors: Any, unique_name: Callable[[str], str]) -> Source:
    return Source(pg_database, connectors, unique_name)


Converge = Callable[..., None]


@pytest.fixture
def converge() -> Converge:
    """Run ``runner`` until ``check()`` holds (between batches); else fail with ``why()``."""

    def run(
        runner: ProjectionRunner,
        check: Callable[[], bool],
        *,
        timeout_s: float = 60.0,
        why: Callable[[], Any] = lambda: None,
    ) -> None:
        deadline = time.monotonic() + timeout_s
        last_check = 0.0
        while time.monotonic() < deadline:
            count = runner.poll_once()
            if count == 0 or time.monotonic() - last_check > 2:
                last_check = time.monotonic()
                if check():
                    return
        pytest.fail(f"projection did not converge in {timeout_s:.0f} s: {why()}")

    return run


@pytest.fixture
def runners() -> Iterator[list[ProjectionRunner]]:
    """Runners made by a test, closed afterwards."""
    made: list[ProjectionRunner] = []
    yield made
    for runner in made:
        runner.close()
