"""The projection runner's offset store passes the consumed-messages contract on PostgreSQL,
and agrees with the runner's own view of its rows (next offsets, BEGINNING)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from eventyard.cdc import BEGINNING, OffsetStore
from eventyard.kafka import ConsumedMessages
from eventyard.kafka.testing import ConsumedMessagesContract

Connection = psycopg.Connection[Any]


class TestOffsetStore(ConsumedMessagesContract[Connection]):
    @pytest.fixture(autouse=True)
    def _database(self, pg_database: str) -> None:
        self.dsn = pg_database

    def make_store(self) -> ConsumedMessages[Connection]:
        store = OffsetStore("public", "offsets_contract")
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            store.ensure(conn)
        return store

    @contextlib.contextmanager
    def transaction(self, store: ConsumedMessages[Connection]) -> Iterator[Connection]:
        with psycopg.connect(self.dsn, autocommit=True) as conn, conn.transaction():
            yield conn

    # -- the offset store's own rules, beyond the contract

    def offset_store(self) -> OffsetStore:
        store = self.make_store()
        assert isinstance(store, OffsetStore)
        return store

    def test_records_below_the_next_offset_count_as_applied(self) -> None:
        store = self.offset_store()
        self.record(store, self.message(10))
        assert self.applied(store, self.message(4))  # skipped by the consumer, passed all the same
        assert self.record(store, self.message(4)) == [False]
        assert self.offsets(store) == {(self.topic, 0): 10}

    def test_the_port_and_the_runners_positions_are_the_same_rows(self) -> None:
        store = self.offset_store()
        where = (self.topic, 0)
        with self.transaction(store) as conn:
            assert store.load(conn, self.consumer, [where, (self.topic, 1)]) == {
                where: BEGINNING,
                (self.topic, 1): BEGINNING,
            }
        assert self.offsets(store) == {}  # a partition at BEGINNING has nothing applied
        assert not self.applied(store, self.message(0))
        self.record(store, self.message(0), self.message(1))
        with self.transaction(store) as conn:
            assert store.all(conn, self.consumer) == {where: 2, (self.topic, 1): BEGINNING}
            store.save(conn, self.consumer, {where: 40})
        assert self.offsets(store) == {where: 39}
        assert self.applied(store, self.message(39))
        assert not self.applied(store, self.message(40))
