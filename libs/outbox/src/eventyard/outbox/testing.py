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

import itertools
import json
import threading
import time
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from eventyard.outbox._contract import OutboxStoreContract, Writer
from eventyard.outbox._exceptions import StoreUnavailable
from eventyard.outbox._model import Event, OutboxRecord, OutboxRow, OutgoingMessage, SendReport
from eventyard.outbox._ports import (
    Backlog,
    Cleanup,
    Horizon,
    MessageSink,
    OutboxStore,
    StoreSession,
)
from eventyard.outbox._publish import Outbox

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
