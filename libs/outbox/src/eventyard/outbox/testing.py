"""Fakes for unit tests, and the contract every outbox store must pass.

- :class:`InMemoryOutboxStore`: the relay's store port in memory, with transactions, partition
  ownership, the safe horizon and notifications behaving as PostgreSQL's do.
- :class:`InMemoryBroker`: the relay's sink port in memory; messages per topic, an outage switch
  and a way to refuse messages.
- :class:`InMemoryOutbox`: stands in for :class:`~eventyard.outbox.Outbox` in a service's unit
  tests: the same ``publish(session, event)``, the events kept in memory once the session commits.
- :class:`OutboxStoreContract`: the store contract as a test class; subclass it per adapter
  (this library runs it against both stores).
"""

from __future__ import annotations

import abc
import contextlib
import itertools
import json
import threading
import time
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ._exceptions import StoreUnavailable
from ._model import Event, OutboxRecord, OutboxRow, OutgoingMessage, SendReport
from ._ports import Backlog, Cleanup, Horizon, MessageSink, OutboxStore, StoreSession
from ._publish import Outbox

__all__ = [
    "BrokerMessage",
    "InMemoryBroker",
    "InMemoryOutbox",
    "InMemoryOutboxStore",
    "InMemorySession",
    "InMemoryTransaction",
    "OutboxStoreContract",
    "Writer",
]


@dataclass(kw_only=True)
class _StoredRow:
    row: OutboxRow
    published_at: float | None = None
    failed_at: float | None = None
    error: str | None = None


class InMemoryTransaction:
    """A writer's transaction: rows take their seq when appended and appear when committed."""

    def __init__(self, store: InMemoryOutboxStore) -> None:
        self._store = store
        self._rows: list[OutboxRow] = []
        self._open = True
        self.id = next(store._txn_ids)

    def append(self, record: OutboxRecord) -> OutboxRow:
        """Add a row (its seq is taken now, as PostgreSQL's column default does)."""
        if not self._open:
            raise RuntimeError("the transaction has ended")
        row = self._store._number(self.id, record)
        self._rows.append(row)
        return row

    def commit(self) -> None:
        """Make the rows visible and wake waiting relays."""
        if self._open:
            self._open = False
            self._store._end(self.id, self._rows)

    def rollback(self) -> None:
        """Discard the rows (their seqs stay unused, as a sequence's do)."""
        if self._open:
            self._open = False
            self._store._end(self.id, [])

    def __enter__(self) -> InMemoryTransaction:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.rollback()


class InMemoryOutboxStore(OutboxStore):
    """The outbox in memory, shared by any number of relays in one process."""

    def __init__(self, *, partitions: int = 64, cleanup: Cleanup | None = None) -> None:
        self._partitions = partitions
        self._cleanup = cleanup or Cleanup()
        self._cond = threading.Condition()
        self._rows: dict[int, _StoredRow] = {}
        self._last_seq = 0
        self._open: dict[int, list[int]] = {}
        self._owners: dict[int, int] = {}
        self._members: set[int] = set()
        self._notifications = 0
        self._txn_ids = itertools.count(1)
        self._session_ids = itertools.count(1)
        self.available = True

    @property
    def partitions(self) -> int:
        return self._partitions

    @property
    def cleanup_policy(self) -> Cleanup:
        return self._cleanup

    def partition_of(self, aggregate_id: str) -> int:
        """The virtual partition of an aggregate (crc32 here; PostgreSQL uses hashtextextended)."""
        return zlib.crc32(aggregate_id.encode()) % self._partitions

    def transaction(self) -> InMemoryTransaction:
        """Begin a writer's transaction."""
        return InMemoryTransaction(self)

    def connect(self, member: str) -> InMemorySession:
        if not self.available:
            raise StoreUnavailable("the in-memory store is switched off")
        return InMemorySession(self, member)

    def rows(self) -> list[OutboxRow]:
        """Every committed row still stored (published or not), by seq."""
        with self._cond:
            return [self._rows[s].row for s in sorted(self._rows)]

    def pending(self) -> list[OutboxRow]:
        """Committed rows not yet published nor set aside, by seq."""
        with self._cond:
            return [
                r.row
                for s, r in sorted(self._rows.items())
                if r.published_at is None and r.failed_at is None
            ]

    # -- used by transactions and sessions
    def _number(self, txn: int, record: OutboxRecord) -> OutboxRow:
        with self._cond:
            self._last_seq += 1
            self._open.setdefault(txn, []).append(self._last_seq)
            seq = self._last_seq
        headers_json = json.dumps(dict(record.headers), separators=(", ", ": "))
        return OutboxRow(
            seq=seq,
            partition=self.partition_of(record.aggregate_id),
            id=str(record.id),
            aggregate_type=record.aggregate_type,
            aggregate_id=record.aggregate_id,
            type=record.type,
            payload=record.payload,
            content_type=record.content_type,
            headers_json=headers_json,
            traceparent=record.traceparent,
            tracestate=record.tracestate,
            created_at=datetime.now(UTC),
        )

    def _end(self, txn: int, rows: Sequence[OutboxRow]) -> None:
        with self._cond:
            self._open.pop(txn, None)
            for row in rows:
                self._rows[row.seq] = _StoredRow(row=row)
            self._notifications += 1
            self._cond.notify_all()


class InMemorySession(StoreSession):
    """One relay's session with the in-memory store; :meth:`kill` simulates a crash."""

    def __init__(self, store: InMemoryOutboxStore, member: str) -> None:
        self._store = store
        self.member = member
        self._id = next(store._session_ids)
        self._seen = store._notifications
        self._closed = False
        with store._cond:
            store._members.add(self._id)

    def _check(self) -> None:
        if self._closed:
            raise StoreUnavailable("the session is closed")
        if not self._store.available:
            raise StoreUnavailable("the in-memory store is switched off")

    def members(self) -> int:
        self._check()
        with self._store._cond:
            return len(self._store._members)

    def try_acquire(self, partition: int) -> bool:
        self._check()
        with self._store._cond:
            owner = self._store._owners.setdefault(partition, self._id)
            return owner == self._id

    def release(self, partition: int) -> None:
        self._check()
        with self._store._cond:
            if self._store._owners.get(partition) == self._id:
                del self._store._owners[partition]

    def horizon(self) -> Horizon:
        self._check()
        with self._store._cond:
            latest = self._store._last_seq
            taken = [seq for seqs in self._store._open.values() for seq in seqs]
            safe = min(taken) - 1 if taken else latest
            return Horizon(safe=safe, latest=latest)

    def fetch(
        self, partitions: Collection[int], *, after: int, upto: int, limit: int
    ) -> list[OutboxRow]:
        self._check()
        wanted = set(partitions)
        with self._store._cond:
            rows = [
                r.row
                for s, r in sorted(self._store._rows.items())
                if after < s <= upto
                and r.row.partition in wanted
                and r.published_at is None
                and r.failed_at is None
            ]
        return rows[:limit]

    def complete(self, seqs: Sequence[int]) -> None:
        self._check()
        now = time.time()
        with self._store._cond:
            for seq in seqs:
                if seq not in self._store._rows:
                    continue
                if self._store.cleanup_policy.retention is None:
                    del self._store._rows[seq]
                else:
                    self._store._rows[seq].published_at = now

    def set_aside(self, seq: int, error: str) -> None:
        self._check()
        with self._store._cond:
            stored = self._store._rows.get(seq)
            if stored is not None:
                stored.failed_at = time.time()
                stored.error = error

    def wait(self, timeout_s: float) -> bool:
        self._check()
        with self._store._cond:
            notified = self._store._cond.wait_for(
                lambda: self._store._notifications != self._seen or self._closed,
                timeout=max(timeout_s, 0.0),
            )
            self._seen = self._store._notifications
            return bool(notified) and not self._closed

    def backlog(self) -> Backlog:
        self._check()
        now = datetime.now(UTC)
        with self._store._cond:
            pending = [
                r.row
                for r in self._store._rows.values()
                if r.published_at is None and r.failed_at is None
            ]
            aside = sum(1 for r in self._store._rows.values() if r.failed_at is not None)
        oldest = min((r.created_at for r in pending if r.created_at is not None), default=None)
        return Backlog(
            pending=len(pending),
            oldest_age_s=None if oldest is None else (now - oldest).total_seconds(),
            set_aside=aside,
        )

    def cleanup(self, retention: timedelta) -> int:
        self._check()
        cutoff = time.time() - retention.total_seconds()
        with self._store._cond:
            old = [
                s
                for s, r in self._store._rows.items()
                if r.published_at is not None and r.published_at < cutoff
            ]
            for seq in old:
                del self._store._rows[seq]
        return len(old)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._store._cond:
            self._store._members.discard(self._id)
            for partition, owner in list(self._store._owners.items()):
                if owner == self._id:
                    del self._store._owners[partition]
            self._store._cond.notify_all()

    def kill(self) -> None:
        """A crash: the same as closing (the database ends a dead client's session)."""
        self.close()


@dataclass(frozen=True, kw_only=True)
class BrokerMessage:
    """A message as the in-memory broker stored it."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: tuple[tuple[str, str | None], ...]

    def header(self, name: str) -> str | None:
        """The last header ``name``."""
        found = [v for k, v in self.headers if k == name]
        return found[-1] if found else None


@dataclass(kw_only=True)
class InMemoryBroker(MessageSink):
    """A broker in memory: topics of ``partitions`` partitions, key-hashed like Kafka's.

    ``down = True`` makes sends wait (as librdkafka does while brokers are away) until it is
    switched back or the relay gives up; ``refuse`` marks messages Kafka would refuse for good.
    """

    partitions: int = 1
    down: bool = False
    #: Sends that found the broker down and waited (a test can wait for the first).
    blocked_sends: int = 0
    refuse: Callable[[OutgoingMessage], str | None] = field(default=lambda _m: None)
    _topics: dict[str, list[list[BrokerMessage]]] = field(default_factory=dict)
    _order: list[BrokerMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, messages: Sequence[OutgoingMessage], *, give_up: Callable[[], bool]) -> object:
        return list(messages)

    def collect(self, ticket: object, *, give_up: Callable[[], bool]) -> SendReport:
        assert isinstance(ticket, list)
        messages: list[OutgoingMessage] = ticket
        delivered: list[int] = []
        rejected: dict[int, str] = {}
        for index, message in enumerate(messages):
            if self.down:
                self.blocked_sends += 1
            while self.down:
                if give_up():
                    unsent = tuple(m.seq for m in messages[index:])
                    return SendReport(delivered=tuple(delivered), rejected=rejected, unsent=unsent)
                time.sleep(0.005)
            reason = self.refuse(message)
            if reason is not None:
                rejected[message.seq] = reason
                continue
            self._append(message)
            delivered.append(message.seq)
        return SendReport(delivered=tuple(delivered), rejected=rejected)

    def _append(self, message: OutgoingMessage) -> None:
        with self._lock:
            parts = self._topics.setdefault(message.topic, [[] for _ in range(self.partitions)])
            partition = zlib.crc32(message.key) % self.partitions
            stored = BrokerMessage(
                topic=message.topic,
                partition=partition,
                offset=len(parts[partition]),
                key=message.key,
                value=message.value,
                headers=message.headers,
            )
            parts[partition].append(stored)
            self._order.append(stored)

    def messages(self, topic: str | None = None) -> list[BrokerMessage]:
        """Messages in the order they arrived (of one topic, or all)."""
        with self._lock:
            return [m for m in self._order if topic is None or m.topic == topic]

    def topics(self) -> list[str]:
        """Topics that received messages."""
        with self._lock:
            return sorted(self._topics)

    def ready(self) -> bool:
        return not self.down

    def close(self) -> None:
        return None


class InMemoryOutbox:
    """Stands in for :class:`~eventyard.outbox.Outbox` in a service's unit tests.

    ``publish(session, event)`` serializes exactly as the real Outbox (same validation, size
    limit and trace headers) and keeps the record until ``session`` commits; a rollback drops
    it. Any SQLAlchemy session works, including one with no database behind it.
    """

    def __init__(
        self, store: InMemoryOutboxStore | None = None, *, outbox: Outbox | None = None
    ) -> None:
        self.store = store or InMemoryOutboxStore()
        self.outbox = outbox or Outbox()

    @property
    def published(self) -> list[OutboxRow]:
        """Committed rows, in publish order."""
        return self.store.rows()

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Committed events as dicts (JSON payloads decoded), optionally of one type."""
        made = []
        for row in self.published:
            if event_type is not None and row.type != event_type:
                continue
            payload: Any = row.payload
            if row.content_type == "application/json":
                payload = json.loads(row.payload)
            made.append(
                {
                    "id": row.id,
                    "aggregate_type": row.aggregate_type,
                    "aggregate_id": row.aggregate_id,
                    "type": row.type,
                    "payload": payload,
                }
            )
        return made

    def publish(self, session: Session, event: Event) -> OutboxRecord:
        """Like :meth:`Outbox.publish`: kept once ``session`` commits."""
        (record,) = self.publish_all(session, [event])
        return record

    def publish_all(self, session: Session, events: Sequence[Event]) -> list[OutboxRecord]:
        """Like :meth:`Outbox.publish_all`."""
        records = self.outbox.records(events)
        transaction = self._transaction(session)
        for record in records:
            transaction.append(record)
        return records

    async def publish_async(self, session: AsyncSession, event: Event) -> OutboxRecord:
        """Like :meth:`Outbox.publish_async`."""
        return self.publish(session.sync_session, event)

    def _transaction(self, session: Session) -> InMemoryTransaction:
        key = ("eventyard.outbox.testing", id(self))
        current = session.info.get(key)
        if isinstance(current, InMemoryTransaction) and current._open:
            return current
        if not session.in_transaction():
            session.begin()
        if not session.info.get((*key, "listening")):
            # Listen once per session; each commit or rollback ends the transaction in hand.
            def committed(done: Session) -> None:
                ending = done.info.pop(key, None)
                if isinstance(ending, InMemoryTransaction):
                    ending.commit()

            def rolled_back(done: Session, *_args: object) -> None:
                ending = done.info.pop(key, None)
                if isinstance(ending, InMemoryTransaction):
                    ending.rollback()

            sa_event.listen(session, "after_commit", committed)
            sa_event.listen(session, "after_rollback", rolled_back)
            session.info[(*key, "listening")] = True
        transaction = self.store.transaction()
        session.info[key] = transaction
        return transaction


# ------------------------------------------------------------------------------------ contract

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
