"""The relay's two narrow interfaces: where rows live (``OutboxStore``) and go (``MessageSink``).

Adapters sit beside each other: ``PostgresOutboxStore`` and ``KafkaSink`` for production,
``InMemoryOutboxStore`` and ``InMemoryBroker`` in :mod:`eventyard.outbox.testing`. Every store
passes the same contract suite (``testing.OutboxStoreContract``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Self

from eventyard.outbox._model import OutboxRow, OutgoingMessage, SendReport

__all__ = ["Backlog", "Cleanup", "Horizon", "MessageSink", "OutboxStore", "StoreSession"]


@dataclass(frozen=True, kw_only=True)
class Cleanup:
    """What happens to a row once Kafka has acknowledged it.

    ``retention=None`` (the default) deletes it at once. A ``retention`` keeps it, stamped with
    ``published_at``, until the relay's cleanup removes rows older than that (by dropping whole
    daily partitions when the table is time-partitioned).
    """

    retention: timedelta | None = None
    interval: timedelta = timedelta(minutes=1)


@dataclass(frozen=True, kw_only=True)
class Backlog:
    """Rows waiting to be published, the age of the oldest, and rows set aside as undeliverable."""

    pending: int
    oldest_age_s: float | None
    set_aside: int


@dataclass(frozen=True, kw_only=True)
class Horizon:
    """``safe``: every row with seq <= safe is final. ``latest``: the highest seq handed out."""

    safe: int
    latest: int


class StoreSession(abc.ABC):
    """One relay's connection to the store.

    The relay is a member of the relay group, and owns the partitions it acquired, exactly as
    long as the session lives: when it closes (or its process dies) they are free again.
    """

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @abc.abstractmethod
    def members(self) -> int:
        """How many relays (sessions) are in the group now, this one included."""

    @abc.abstractmethod
    def try_acquire(self, partition: int) -> bool:
        """Take ``partition`` if no other session owns it; True if this session owns it now."""

    @abc.abstractmethod
    def release(self, partition: int) -> None:
        """Give ``partition`` up."""

    @abc.abstractmethod
    def horizon(self) -> Horizon:
        """The highest seq H such that every row with seq <= H is final (committed or gone).

        A row with a seq at or below H can never appear later, so a reader that has read
        everything up to H misses nothing, and rows above H wait.
        """

    @abc.abstractmethod
    def fetch(
        self, partitions: Collection[int], *, after: int, upto: int, limit: int
    ) -> list[OutboxRow]:
        """Unpublished rows of ``partitions`` with ``after < seq <= upto``, by seq (``limit``)."""

    @abc.abstractmethod
    def complete(self, seqs: Sequence[int]) -> None:
        """Kafka acknowledged these rows: delete them, or stamp them published (retention)."""

    @abc.abstractmethod
    def set_aside(self, seq: int, error: str) -> None:
        """Kafka refused this row for good: keep it out of later fetches, with the reason."""

    @abc.abstractmethod
    def wait(self, timeout_s: float) -> bool:
        """Block until rows were inserted (True) or ``timeout_s`` passed (False)."""

    @abc.abstractmethod
    def backlog(self) -> Backlog:
        """Rows not yet published, over all partitions."""

    @abc.abstractmethod
    def cleanup(self, retention: timedelta) -> int:
        """Remove published rows older than ``retention``; the number of rows removed (estimate)."""

    @abc.abstractmethod
    def close(self) -> None:
        """End the session: leave the group, free every partition. Safe to call twice."""


class OutboxStore(abc.ABC):
    """Where outbox rows live, as the relay sees it."""

    @property
    @abc.abstractmethod
    def partitions(self) -> int:
        """The number of virtual partitions aggregates are hashed into."""

    @property
    @abc.abstractmethod
    def cleanup_policy(self) -> Cleanup:
        """What :meth:`StoreSession.complete` does with an acknowledged row."""

    @abc.abstractmethod
    def connect(self, member: str) -> StoreSession:
        """Open a session for the relay named ``member``; raise StoreUnavailable if unreachable."""


class MessageSink(abc.ABC):
    """Where the relay sends messages (Kafka).

    ``submit`` starts sending a batch, after everything submitted before it; ``collect`` waits
    for its outcome. A relay keeps up to two batches submitted, so Kafka's round trip overlaps
    the database's.
    """

    @abc.abstractmethod
    def submit(self, messages: Sequence[OutgoingMessage], *, give_up: Callable[[], bool]) -> object:
        """Start sending ``messages`` in order; a ticket for :meth:`collect`."""

    @abc.abstractmethod
    def collect(self, ticket: object, *, give_up: Callable[[], bool]) -> SendReport:
        """Return once each message of the batch is acknowledged, refused for good, or
        ``give_up()`` is true, in which case what is still unacknowledged is reported as
        ``unsent`` (it may or may not have reached the broker). Raise BrokerUnavailable if the
        sink must be rebuilt."""

    def send(
        self, messages: Sequence[OutgoingMessage], *, give_up: Callable[[], bool]
    ) -> SendReport:
        """:meth:`submit` then :meth:`collect`."""
        return self.collect(self.submit(messages, give_up=give_up), give_up=give_up)

    @abc.abstractmethod
    def ready(self) -> bool:
        """True while the broker is reachable as far as the sink knows."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the sink's resources (unsent messages are dropped)."""
