"""Consumer offsets stored in PostgreSQL, written in the same transaction as a batch's effects.

:class:`OffsetStore` is the projection runner's adapter of the consumed-messages port
(:class:`eventyard.kafka.ConsumedMessages`, on a psycopg connection in a transaction): a record
is applied when its offset is below its partition's stored next offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from psycopg import sql

from eventyard.kafka import ConsumedMessages, TopicPartitionKey, Tracking

__all__ = ["BEGINNING", "OffsetStore"]

BEGINNING = -1
"""Stored for a partition nothing was applied from yet: read it from its first offset."""


class OffsetStore(ConsumedMessages[psycopg.Connection[Any]]):
    """One table of ``(projection, topic, partition) -> next_offset``.

    ``next_offset`` is the offset of the next record to apply. Rows are created at
    :data:`BEGINNING` when a partition is first assigned, so that every batch can lock them.

    As a :class:`~eventyard.kafka.ConsumedMessages` store (the consumer is the projection,
    the transaction a connection inside ``conn.transaction()``): :meth:`record` moves the
    partition's next offset past a record, :meth:`is_applied` compares with it, and
    :meth:`max_offsets` is the next offsets less one. Records are recognised by position only
    (``Tracking.message_id`` is not used). The runner itself locks, checks and saves a whole
    batch's positions at once (:meth:`lock`, :meth:`save`).
    """

    def __init__(self, schema: str, table: str) -> None:
        self.table = sql.Identifier(schema, table)

    def ensure(self, conn: psycopg.Connection[Any]) -> None:
        """Create the table if it does not exist."""
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                " projection text NOT NULL,"
                " topic text NOT NULL,"
                " partition integer NOT NULL,"
                " next_offset bigint NOT NULL,"
                " updated_at timestamptz NOT NULL DEFAULT now(),"
                " PRIMARY KEY (projection, topic, partition))"
            ).format(self.table)
        )

    def load(
        self,
        conn: psycopg.Connection[Any],
        projection: str,
        partitions: Iterable[TopicPartitionKey],
    ) -> dict[TopicPartitionKey, int]:
        """Stored positions of ``partitions`` (rows created at BEGINNING where missing)."""
        wanted = list(partitions)
        if not wanted:
            return {}
        topics = [t for t, _ in wanted]
        numbers = [p for _, p in wanted]
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (projection, topic, partition, next_offset)"
                " SELECT %s, t, p, %s FROM unnest(%s::text[], %s::int[]) AS u(t, p)"
                " ON CONFLICT DO NOTHING"
            ).format(self.table),
            (projection, BEGINNING, topics, numbers),
        )
        return self._select(conn, projection, topics, numbers, lock=False)

    def lock(
        self,
        conn: psycopg.Connection[Any],
        projection: str,
        partitions: Iterable[TopicPartitionKey],
    ) -> dict[TopicPartitionKey, int]:
        """Lock the rows of ``partitions`` for this transaction and return their positions."""
        wanted = list(partitions)
        return self._select(
            conn, projection, [t for t, _ in wanted], [p for _, p in wanted], lock=True
        )

    def _select(
        self,
        conn: psycopg.Connection[Any],
        projection: str,
        topics: list[str],
        numbers: list[int],
        *,
        lock: bool,
    ) -> dict[TopicPartitionKey, int]:
        query = sql.SQL(
            "SELECT o.topic, o.partition, o.next_offset FROM {} o"
            " JOIN unnest(%s::text[], %s::int[]) AS u(t, p) ON o.topic = u.t AND o.partition = u.p"
            " WHERE o.projection = %s ORDER BY o.topic, o.partition{}"
        ).format(self.table, sql.SQL(" FOR UPDATE OF o") if lock else sql.SQL(""))
        rows = conn.execute(query, (topics, numbers, projection)).fetchall()
        return {(r[0], r[1]): r[2] for r in rows}

    def save(
        self,
        conn: psycopg.Connection[Any],
        projection: str,
        positions: Mapping[TopicPartitionKey, int],
    ) -> None:
        """Write ``positions`` (upsert), in the caller's transaction."""
        if not positions:
            return
        keys = sorted(positions)
        conn.execute(
            sql.SQL(
                "INSERT INTO {} AS o (projection, topic, partition, next_offset)"
                " SELECT %s, t, p, n FROM unnest(%s::text[], %s::int[], %s::bigint[]) AS u(t, p, n)"
                " ON CONFLICT (projection, topic, partition)"
                " DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()"
            ).format(self.table),
            (projection, [k[0] for k in keys], [k[1] for k in keys], [positions[k] for k in keys]),
        )

    def all(self, conn: psycopg.Connection[Any], projection: str) -> dict[TopicPartitionKey, int]:
        """Every stored position of ``projection``."""
        rows = conn.execute(
            sql.SQL("SELECT topic, partition, next_offset FROM {} WHERE projection = %s").format(
                self.table
            ),
            (projection,),
        ).fetchall()
        return {(r[0], r[1]): r[2] for r in rows}

    def delete(self, conn: psycopg.Connection[Any], projection: str) -> None:
        """Forget every position of ``projection``."""
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE projection = %s").format(self.table), (projection,)
        )

    # -- the consumed-messages port

    def record(self, tx: psycopg.Connection[Any], tracking: Tracking) -> bool:
        """Move the partition's next offset past ``tracking``, in the caller's transaction;
        False (nothing written) when it is there already."""
        row = tx.execute(
            sql.SQL(
                "INSERT INTO {} AS o (projection, topic, partition, next_offset)"
                " VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (projection, topic, partition)"
                " DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()"
                " WHERE o.next_offset < EXCLUDED.next_offset RETURNING 1"
            ).format(self.table),
            (tracking.consumer, tracking.topic, tracking.partition, tracking.offset + 1),
        ).fetchone()
        return row is not None

    def is_applied(self, tx: psycopg.Connection[Any], tracking: Tracking) -> bool:
        """Whether ``tracking``'s offset is below its partition's next offset."""
        row = tx.execute(
            sql.SQL(
                "SELECT next_offset > %s FROM {}"
                " WHERE projection = %s AND topic = %s AND partition = %s"
            ).format(self.table),
            (tracking.offset, tracking.consumer, tracking.topic, tracking.partition),
        ).fetchone()
        return bool(row is not None and row[0])

    def max_offsets(
        self, tx: psycopg.Connection[Any], consumer: str
    ) -> dict[TopicPartitionKey, int]:
        """The offset before each partition's next one (partitions still at
        :data:`BEGINNING` are absent)."""
        rows = tx.execute(
            sql.SQL(
                "SELECT topic, partition, next_offset - 1 FROM {}"
                " WHERE projection = %s AND next_offset > 0"
            ).format(self.table),
            (consumer,),
        ).fetchall()
        return {(r[0], r[1]): r[2] for r in rows}
