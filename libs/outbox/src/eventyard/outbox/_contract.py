"""The outbox store contract as a test class: the behaviour every :class:`OutboxStore` must
have, run against each adapter (re-exported by :mod:`eventyard.outbox.testing`)."""

from __future__ import annotations

import abc
import contextlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import ClassVar

from eventyard.outbox._model import Event, OutboxRow
from eventyard.outbox._ports import Backlog, Cleanup, Horizon, OutboxStore, StoreSession

__all__ = ["OutboxStoreContract", "Writer"]

#: What a contract's ``transaction()`` yields: publishes one event in that transaction.
Writer = Callable[[Event], None]


class OutboxStoreContract(abc.ABC):
    """The behaviour every :class:`OutboxStore` must have, as tests.

    Subclass it in a test module as ``TestMyStore(OutboxStoreContract)`` and implement
    :meth:`make_store` and :meth:`transaction`; pytest collects the ``test_`` methods.
    """

    partitions: ClassVar[int] = 8

    @abc.abstractmethod
    def make_store(self, *, partitions: int, cleanup: Cleanup) -> OutboxStore:
        """A new, empty store."""

    @abc.abstractmethod
    def transaction(self, store: OutboxStore) -> contextlib.AbstractContextManager[Writer]:
        """A writer's transaction: publish events; commit on exit, roll back on an exception."""

    # -- helpers
    def store(
        self, *, partitions: int | None = None, cleanup: Cleanup | None = None
    ) -> OutboxStore:
        """A store with this contract's defaults."""
        return self.make_store(
            partitions=partitions or self.partitions, cleanup=cleanup or Cleanup()
        )

    @staticmethod
    def event(aggregate: str, n: int, *, aggregate_type: str = "order") -> Event:
        """Event ``n`` of ``aggregate``."""
        return Event(
            aggregate_type=aggregate_type, aggregate_id=aggregate, type="Happened", payload={"n": n}
        )

    def publish(self, store: OutboxStore, *events: Event) -> None:
        """Publish ``events`` in one committed transaction."""
        with self.transaction(store) as write:
            for e in events:
                write(e)

    @staticmethod
    def settled(session: StoreSession, attempts: int = 20) -> Horizon:
        """The horizon once every writer has ended (a store may need a few reads to see it)."""
        horizon = session.horizon()
        for _ in range(attempts):
            if horizon.safe >= horizon.latest:
                return horizon
            time.sleep(0.01)
            horizon = session.horizon()
        return horizon

    def all_rows(self, session: StoreSession, store: OutboxStore) -> list[OutboxRow]:
        """Every fetchable row of every partition."""
        horizon = self.settled(session)
        return session.fetch(range(store.partitions), after=0, upto=horizon.safe, limit=100_000)

    @staticmethod
    def payloads(rows: Sequence[OutboxRow]) -> list[tuple[str, int]]:
        """(aggregate, n) of each row."""
        return [(r.aggregate_id, json.loads(r.payload)["n"]) for r in rows]

    # -- the contract
    def test_committed_events_are_fetched_in_publish_order(self) -> None:
        store = self.store()
        self.publish(store, self.event("a", 1), self.event("b", 1))
        self.publish(store, self.event("a", 2))
        with store.connect("r1") as session:
            rows = self.all_rows(session, store)
        assert self.payloads(rows) == [("a", 1), ("b", 1), ("a", 2)]
        seqs = [r.seq for r in rows]
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 3

    def test_rows_carry_the_whole_envelope(self) -> None:
        store = self.store()
        event = Event(
            aggregate_type="order",
            aggregate_id="o-1",
            type="OrderPlaced",
            payload={"total": 12},
            headers={"tenant": "acme"},
        )
        self.publish(store, event)
        with store.connect("r1") as session:
            (row,) = self.all_rows(session, store)
        assert row.id == str(event.id)
        assert (row.aggregate_type, row.aggregate_id, row.type) == ("order", "o-1", "OrderPlaced")
        assert json.loads(row.payload) == {"total": 12}
        assert row.content_type == "application/json"
        extra = json.loads(row.headers_json)
        assert extra["tenant"] == "acme"
        assert extra["content-type"] == "application/json"
        assert row.traceparent is None  # no span was active
        assert 0 <= row.partition < store.partitions

    def test_rolled_back_events_are_never_fetched(self) -> None:
        store = self.store()
        with contextlib.suppress(RuntimeError), self.transaction(store) as write:
            write(self.event("a", 1))
            raise RuntimeError("the business transaction failed")
        self.publish(store, self.event("b", 1))
        with store.connect("r1") as session:
            assert self.payloads(self.all_rows(session, store)) == [("b", 1)]

    def test_one_aggregate_stays_in_one_partition(self) -> None:
        store = self.store()
        self.publish(store, *[self.event(f"agg-{i % 5}", i) for i in range(40)])
        with store.connect("r1") as session:
            rows = self.all_rows(session, store)
        by_aggregate: dict[str, set[int]] = {}
        for row in rows:
            by_aggregate.setdefault(row.aggregate_id, set()).add(row.partition)
        assert all(len(parts) == 1 for parts in by_aggregate.values())
        assert len({p for parts in by_aggregate.values() for p in parts}) > 1

    def test_fetch_reads_only_the_given_partitions_in_seq_order_within_bounds(self) -> None:
        store = self.store()
        self.publish(store, *[self.event(f"agg-{i % 7}", i) for i in range(30)])
        with store.connect("r1") as session:
            rows = self.all_rows(session, store)
            wanted = {rows[0].partition}
            some = session.fetch(wanted, after=0, upto=rows[-1].seq, limit=100)
            assert some
            assert all(r.partition in wanted for r in some)
            assert some == [r for r in rows if r.partition in wanted]
            middle = rows[10].seq
            assert [
                r.seq
                for r in session.fetch(
                    range(store.partitions), after=middle, upto=rows[-1].seq, limit=5
                )
            ] == [r.seq for r in rows[11:16]]
            assert (
                session.fetch(range(store.partitions), after=0, upto=rows[2].seq, limit=100)
                == rows[:3]
            )

    def test_an_open_writer_holds_back_rows_numbered_after_it(self) -> None:
        store = self.store()
        with store.connect("r1") as session, self.transaction(store) as early:
            early(self.event("late", 1))  # takes the smaller seq, commits last
            self.publish(store, self.event("quick", 1))
            horizon = session.horizon()
            assert horizon.safe < horizon.latest
            visible = session.fetch(range(store.partitions), after=0, upto=horizon.safe, limit=100)
            assert visible == []  # "quick" must wait: "late" could still commit before it
        with store.connect("r2") as session:
            assert self.payloads(self.all_rows(session, store)) == [("late", 1), ("quick", 1)]

    def test_a_rolled_back_writer_does_not_hold_the_horizon(self) -> None:
        store = self.store()
        with contextlib.suppress(RuntimeError), self.transaction(store) as write:
            write(self.event("gone", 1))
            raise RuntimeError("rollback")
        self.publish(store, self.event("kept", 1))
        with store.connect("r1") as session:
            horizon = self.settled(session)
            assert horizon.safe == horizon.latest
            assert self.payloads(self.all_rows(session, store)) == [("kept", 1)]

    def test_completed_rows_are_deleted(self) -> None:
        store = self.store()
        self.publish(store, self.event("a", 1), self.event("a", 2))
        with store.connect("r1") as session:
            first, second = self.all_rows(session, store)
            session.complete([first.seq])
            assert self.all_rows(session, store) == [second]
            assert session.backlog().pending == 1
            session.complete([second.seq])
            assert session.backlog() == Backlog(pending=0, oldest_age_s=None, set_aside=0)

    def test_retention_keeps_published_rows_until_cleanup(self) -> None:
        store = self.store(cleanup=Cleanup(retention=timedelta(hours=1)))
        self.publish(store, self.event("a", 1))
        with store.connect("r1") as session:
            (row,) = self.all_rows(session, store)
            session.complete([row.seq])
            assert self.all_rows(session, store) == []
            assert session.backlog().pending == 0
            assert session.cleanup(timedelta(hours=1)) == 0
            time.sleep(0.01)
            assert session.cleanup(timedelta(0)) == 1

    def test_set_aside_rows_are_skipped_and_counted(self) -> None:
        store = self.store()
        self.publish(store, self.event("a", 1), self.event("a", 2))
        with store.connect("r1") as session:
            first, second = self.all_rows(session, store)
            session.set_aside(first.seq, "MSG_SIZE_TOO_LARGE")
            assert self.all_rows(session, store) == [second]
            backlog = session.backlog()
            assert (backlog.pending, backlog.set_aside) == (1, 1)

    def test_a_partition_has_one_owner_until_it_is_released(self) -> None:
        store = self.store()
        with store.connect("r1") as one, store.connect("r2") as two:
            assert one.try_acquire(3)
            assert one.try_acquire(3)  # owning it again is fine
            assert not two.try_acquire(3)
            one.release(3)
            assert two.try_acquire(3)
            assert not one.try_acquire(3)

    def test_a_closed_session_leaves_the_group_and_frees_its_partitions(self) -> None:
        store = self.store()
        with store.connect("r1") as one:
            assert one.members() == 1
            two = store.connect("r2")
            assert one.members() == 2
            assert two.try_acquire(0)
            assert two.try_acquire(1)
            two.close()
            assert one.members() == 1
            assert one.try_acquire(0)
            assert one.try_acquire(1)

    def test_wait_wakes_on_a_commit_and_times_out_otherwise(self) -> None:
        store = self.store()
        with store.connect("r1") as session:
            while session.wait(0.05):
                pass  # drain anything pending
            started = time.monotonic()
            assert session.wait(0.2) is False
            assert time.monotonic() - started >= 0.15
            self.publish(store, self.event("a", 1))
            assert session.wait(5.0) is True

    def test_backlog_reports_the_oldest_pending_row(self) -> None:
        store = self.store()
        with store.connect("r1") as session:
            assert session.backlog() == Backlog(pending=0, oldest_age_s=None, set_aside=0)
            self.publish(store, self.event("a", 1), self.event("b", 1))
            backlog = session.backlog()
            assert backlog.pending == 2
            assert backlog.oldest_age_s is not None
            assert backlog.oldest_age_s >= 0
