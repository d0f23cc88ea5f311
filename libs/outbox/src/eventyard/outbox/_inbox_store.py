"""The inbox table through SQLAlchemy: the inbox's adapter of the consumed-messages port
(:class:`eventyard.kafka.ConsumedMessages`), and the inbox's own bookkeeping of failing and
dead-lettered messages.

A row per ``(consumer, message_id)``; ``state`` is ``applied``, ``failing`` (attempts counted,
to be retried) or ``dead`` (sent to the dead-letter topic). Applied and dead messages are done
with: :meth:`InboxStore.record` refuses them, :meth:`InboxStore.is_applied` says so, and
:meth:`InboxStore.max_offsets` counts them. Every statement runs in the caller's session and
transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventyard.kafka import ConsumedMessages, TopicPartitionKey, Tracking
from eventyard.outbox._schema import InboxTable

__all__ = ["InboxStore"]

# Statement templates; ``{t}`` is the inbox table's quoted, validated name.
_CLAIM = (
    "INSERT INTO {t} (consumer, message_id, state, topic, kafka_partition, kafka_offset) "
    "VALUES (:consumer, :id, 'applied', :topic, :partition, :offset) "
    "ON CONFLICT (consumer, message_id) DO UPDATE SET state = 'applied', "
    "received_at = now(), last_error = NULL "
    "WHERE {t}.state = 'failing' RETURNING attempts"
)
_DONE = "SELECT 1 FROM {t} WHERE consumer = :consumer AND message_id = :id AND state <> 'failing'"
_MAX_OFFSETS = (
    "SELECT topic, kafka_partition, max(kafka_offset) FROM {t} "
    "WHERE consumer = :consumer AND state <> 'failing' AND topic IS NOT NULL "
    "AND kafka_partition IS NOT NULL AND kafka_offset IS NOT NULL "
    "GROUP BY topic, kafka_partition"
)
_FAIL = (
    "INSERT INTO {t} (consumer, message_id, state, attempts, last_error, topic, "
    "kafka_partition, kafka_offset) "
    "VALUES (:consumer, :id, 'failing', 1, :error, :topic, :partition, :offset) "
    "ON CONFLICT (consumer, message_id) DO UPDATE SET attempts = "
    "{t}.attempts + 1, last_error = excluded.last_error, received_at = now() "
    "WHERE {t}.state = 'failing' RETURNING attempts"
)
_DEAD = (
    "INSERT INTO {t} (consumer, message_id, state, attempts, last_error, topic, "
    "kafka_partition, kafka_offset) "
    "VALUES (:consumer, :id, 'dead', :attempts, :error, :topic, :partition, :offset) "
    "ON CONFLICT (consumer, message_id) DO UPDATE SET state = 'dead', "
    "attempts = excluded.attempts, last_error = excluded.last_error"
)
_EXPIRE = "DELETE FROM {t} WHERE consumer = :consumer AND received_at < now() - :retention"


class InboxStore(ConsumedMessages[Session]):
    """The inbox table ``table`` (created by ``create_outbox_schema(..., inbox=table)``).

    Messages are recognised by ``Tracking.id`` (the ``id`` header, else the position): a
    message published again lands at a new offset and is still recognised. The row keeps the
    position the message was first seen at. Rows expire (:meth:`expire`): a repeat arriving
    after that is applied again, and :meth:`max_offsets` forgets what expired.
    """

    def __init__(self, table: InboxTable | None = None) -> None:
        self.table = table or InboxTable()
        # The table name comes from InboxTable, which admits plain identifiers only.
        t = self.table.qualified
        self._claim = sa.text(_CLAIM.format(t=t))
        self._done = sa.text(_DONE.format(t=t))
        self._max_offsets = sa.text(_MAX_OFFSETS.format(t=t))
        self._fail = sa.text(_FAIL.format(t=t))
        self._dead = sa.text(_DEAD.format(t=t))
        self._expire = sa.text(_EXPIRE.format(t=t))

    # -- the consumed-messages port

    def record(self, tx: Session, tracking: Tracking) -> bool:
        """Claim the message as applied: a new one, or one that was failing. False (nothing
        written) when it was applied or dead-lettered already."""
        return tx.execute(self._claim, _params(tracking)).first() is not None

    def is_applied(self, tx: Session, tracking: Tracking) -> bool:
        """Whether the message was applied or dead-lettered."""
        found = tx.execute(self._done, {"consumer": tracking.consumer, "id": tracking.id})
        return found.first() is not None

    def max_offsets(self, tx: Session, consumer: str) -> dict[TopicPartitionKey, int]:
        """The highest offset per partition among the applied and dead-lettered messages."""
        rows = tx.execute(self._max_offsets, {"consumer": consumer}).all()
        return {(str(r[0]), int(r[1])): int(r[2]) for r in rows}

    # -- the inbox's own bookkeeping

    def record_failure(self, tx: Session, tracking: Tracking, *, error: str) -> int | None:
        """Count a failed attempt; the attempts so far, or None when the message was applied or
        dead-lettered meanwhile (nothing written)."""
        row = tx.execute(self._fail, {**_params(tracking), "error": error}).first()
        return None if row is None else int(row[0])

    def record_dead(self, tx: Session, tracking: Tracking, *, attempts: int, error: str) -> None:
        """Mark the message dead-lettered after ``attempts``."""
        tx.execute(self._dead, {**_params(tracking), "attempts": attempts, "error": error})

    def expire(self, tx: Session, consumer: str, retention: timedelta) -> int:
        """Delete ``consumer``'s rows older than ``retention``; how many."""
        result = tx.execute(self._expire, {"consumer": consumer, "retention": retention})
        return int(getattr(result, "rowcount", 0) or 0)


def _params(tracking: Tracking) -> dict[str, Any]:
    return {
        "consumer": tracking.consumer,
        "id": tracking.id,
        "topic": tracking.topic,
        "partition": tracking.partition,
        "offset": tracking.offset,
    }
