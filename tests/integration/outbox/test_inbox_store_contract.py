"""The inbox's SQLAlchemy store passes the consumed-messages contract on PostgreSQL, and keeps
the inbox's own rules: a message is recognised by id, and a dead-lettered one is done with."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventyard.kafka import ConsumedMessages, Tracking
from eventyard.kafka.testing import ConsumedMessagesContract
from eventyard.outbox import InboxStore, InboxTable, inbox_ddl


class TestInboxStore(ConsumedMessagesContract[Session]):
    engine: sa.Engine

    @pytest.fixture(autouse=True)
    def _database(self, pg_database: str) -> Iterator[None]:
        self.dsn = pg_database
        self.engine = sa.create_engine(
            "postgresql+psycopg://", creator=lambda: psycopg.connect(pg_database)
        )
        yield
        self.engine.dispose()

    def make_store(self) -> ConsumedMessages[Session]:
        table = InboxTable(name="inbox_contract")
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for statement in inbox_ddl(table):
                conn.execute(statement.encode())
        return InboxStore(table)

    @contextlib.contextmanager
    def transaction(self, store: ConsumedMessages[Session]) -> Iterator[Session]:
        with Session(self.engine) as session, session.begin():
            yield session

    # -- the inbox's own rules, beyond the contract

    def inbox(self) -> InboxStore:
        store = self.make_store()
        assert isinstance(store, InboxStore)
        return store

    def test_a_message_is_recognised_by_id_at_any_offset(self) -> None:
        store = self.inbox()
        first = Tracking(consumer="billing", topic="t", partition=0, offset=3, message_id="e-1")
        again = Tracking(consumer="billing", topic="t", partition=0, offset=8, message_id="e-1")
        assert self.record(store, first, again) == [True, False]
        assert self.applied(store, again)
        assert not self.applied(store, self.message(2, topic="t"))
        assert self.offsets(store) == {("t", 0): 3}  # the row keeps where it was first seen

    def test_a_failing_message_is_not_applied_and_can_be_claimed(self) -> None:
        store = self.inbox()
        failing = self.message(4)
        with self.transaction(store) as tx:
            assert store.record_failure(tx, failing, error="ValueError: no") == 1
        with self.transaction(store) as tx:
            assert store.record_failure(tx, failing, error="ValueError: no") == 2
        assert not self.applied(store, failing)
        assert self.offsets(store) == {}
        assert self.record(store, failing) == [True]
        with self.transaction(store) as tx:
            assert store.record_failure(tx, failing, error="late") is None  # applied meanwhile

    def test_a_dead_lettered_message_is_done_with(self) -> None:
        store = self.inbox()
        dead = self.message(6)
        with self.transaction(store) as tx:
            store.record_dead(tx, dead, attempts=3, error="ValueError: no")
        assert self.applied(store, dead)
        assert self.record(store, dead) == [False]
        assert self.offsets(store) == {(self.topic, 0): 6}

    def test_expired_rows_are_forgotten(self) -> None:
        store = self.inbox()
        self.record(store, self.message(1), self.message(1, consumer="shipping"))
        with self.transaction(store) as tx:
            assert store.expire(tx, self.consumer, timedelta(hours=1)) == 0
        with self.transaction(store) as tx:
            assert store.expire(tx, self.consumer, timedelta(0)) == 1
        assert not self.applied(store, self.message(1))
        assert self.applied(store, self.message(1, consumer="shipping"))
