"""Consumer offsets stored in PostgreSQL, written in the same transaction as a batch's effects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["BEGINNING", "OffsetStore", "TopicPartitionKey"]

TopicPartitionKey = tuple[str, int]
BEGINNING = -1
"""Stored for a partition nothing was applied from yet: read it from its first offset."""


class OffsetStore:
    """One table of ``(projection, topic, partition) -> next_offset``.

    ``next_offset`` is the offset of the next record to apply. Rows are created at
    :data:`BEGINNING` when a partition is first assigned, so that every batch can lock them.
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
