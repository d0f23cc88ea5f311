"""The in-memory store passes the same contract as the PostgreSQL store."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from eventyard.outbox import Cleanup, Event, Outbox, OutboxStore
from eventyard.outbox.testing import InMemoryOutboxStore, OutboxStoreContract, Writer


class TestInMemoryStore(OutboxStoreContract):
    def make_store(self, *, partitions: int, cleanup: Cleanup) -> OutboxStore:
        return InMemoryOutboxStore(partitions=partitions, cleanup=cleanup)

    @contextlib.contextmanager
    def transaction(self, store: OutboxStore) -> Iterator[Writer]:
        assert isinstance(store, InMemoryOutboxStore)
        outbox = Outbox()
        with store.transaction() as txn:

            def write(event: Event) -> None:
                (record,) = outbox.records([event])
                txn.append(record)

            yield write
