"""The PostgreSQL store passes the same contract as the in-memory store."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventyard.outbox import (
    Cleanup,
    Event,
    Outbox,
    OutboxStore,
    OutboxTable,
    PostgresOutboxStore,
    create_outbox_schema,
)
from eventyard.outbox.testing import OutboxStoreContract, Writer

_tables = itertools.count()


class TestPostgresStore(OutboxStoreContract):
    dsn: str
    engine: sa.Engine

    @pytest.fixture(autouse=True)
    def _database(self, pg_database: str) -> Iterator[None]:
        self.dsn = pg_database
        self.engine = sa.create_engine(
            "postgresql+psycopg://", creator=lambda: psycopg.connect(pg_database)
        )
        yield
        self.engine.dispose()

    def make_store(self, *, partitions: int, cleanup: Cleanup) -> OutboxStore:
        table = OutboxTable(name=f"outbox_{next(_tables)}", partitions=partitions)
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            create_outbox_schema(conn, outbox=table)
        return PostgresOutboxStore(self.dsn, table=table, cleanup=cleanup)

    @contextlib.contextmanager
    def transaction(self, store: OutboxStore) -> Iterator[Writer]:
        assert isinstance(store, PostgresOutboxStore)
        outbox = Outbox(table=store.table)
        with Session(self.engine) as session, session.begin():

            def write(event: Event) -> None:
                outbox.publish(session, event)

            yield write
