"""The consumed-messages port: a consumer records, in the same database transaction as its
effects, that it applied a Kafka message, so that a redelivery is recognised and skipped.

Committing the effects and the record together is what makes a consumer's effects happen
exactly once: either both are there after a crash or neither is. Each adapter works in its own
kind of transaction (a SQLAlchemy ``Session``, a psycopg ``Connection``, ...): the port is
generic in that handle, and every method works inside the transaction the caller gives it.

Adapters: ``eventyard.outbox.InboxStore`` (an inbox table keyed by message id, SQLAlchemy) and
``eventyard.cdc.OffsetStore`` (the next offset per partition, psycopg).
``eventyard.kafka.testing`` has an in-memory one and the contract every adapter passes.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Generic, TypeVar

from eventyard.kafka._membership import TopicPartitionKey

__all__ = ["ConsumedMessages", "Tracking"]

TxT = TypeVar("TxT")


@dataclass(frozen=True, slots=True, kw_only=True)
class Tracking:
    """A message ``consumer`` applied: where it was read (``topic[partition]@offset``) and,
    for stores that recognise messages by id, its id (``message_id``; by default the position,
    ``topic/partition/offset``)."""

    consumer: str
    topic: str
    partition: int
    offset: int
    message_id: str | None = None

    @property
    def id(self) -> str:
        """The message id, else ``topic/partition/offset``."""
        return self.message_id or f"{self.topic}/{self.partition}/{self.offset}"

    @property
    def where(self) -> TopicPartitionKey:
        """``(topic, partition)``."""
        return (self.topic, self.partition)


class ConsumedMessages(abc.ABC, Generic[TxT]):
    """What a consumer has applied, recorded in the transaction of its effects.

    Every method takes the caller's transaction ``tx`` and works inside it: a record is seen
    by others once ``tx`` commits, and is gone if it rolls back. Two transactions recording
    the same message at once: the second waits for the first, and records it only if the
    first rolled back.

    Consumers are tracked apart (one table can serve many). A Kafka consumer reads each
    partition in offset order; what a store says about an offset below the highest it
    recorded but never recorded itself is the store's own: a store of positions
    (``OffsetStore``) counts it as applied, a store of message ids (``InboxStore``) does not.
    """

    @abc.abstractmethod
    def record(self, tx: TxT, tracking: Tracking) -> bool:
        """Record ``tracking`` as applied in ``tx``: True, or False (recording nothing) when it
        was applied already, so the caller must not apply it again."""

    @abc.abstractmethod
    def is_applied(self, tx: TxT, tracking: Tracking) -> bool:
        """Whether ``tracking`` was recorded (committed, or earlier in ``tx``)."""

    @abc.abstractmethod
    def max_offsets(self, tx: TxT, consumer: str) -> dict[TopicPartitionKey, int]:
        """The highest offset applied per partition by ``consumer`` (partitions with nothing
        applied are absent): resume each partition after it."""
