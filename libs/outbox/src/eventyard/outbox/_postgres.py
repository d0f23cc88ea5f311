"""The PostgreSQL outbox store: what a relay reads, locks and marks, over one psycopg connection.

Ownership and membership are session-level advisory locks on the relay's connection: partition
``p`` is ``pg_advisory_lock(ns, p)``, and every relay holds ``pg_advisory_lock_shared(ns,
MEMBER_LOCK)``, so the group's size is the number of holders. A relay that dies, even by
``kill -9``, loses its connection and with it every lock: its partitions are free at once.

The safe horizon: a writer takes the shared writer lock and a transaction id before its seq
(``<table>_next_seq``). ``<table>_snapshot()`` reads the sequence (L), then the ids of the
transactions in progress (X, from ``backend_xid``). Every seq <= L was taken by a transaction
that had ended or was in X at that moment; once no transaction of X is in progress any longer,
every row up to L is final. The session keeps the recent checkpoints (L, X) and returns the
highest L whose X has ended. X also holds transactions that never write to the outbox; when the
oldest checkpoint waits longer than ``refine_after_s``, ``<table>_writers()`` (a ``pg_locks``
scan) tells which transactions hold the writer lock now, and every waiting checkpoint keeps only
those: a transaction of X that does not hold the lock now had not taken a seq (the lock comes
first and stays until the end), so a long report or batch job holds the relay back for
``refine_after_s`` at most, and the lock table is scanned only then.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import structlog
from psycopg import errors as pg_errors
from psycopg import sql

from eventyard.outbox._exceptions import ConfigError, StoreUnavailable
from eventyard.outbox._model import OutboxRow
from eventyard.outbox._ports import Backlog, Cleanup, Horizon, OutboxStore, StoreSession
from eventyard.outbox._schema import (
    CLEANUP_LOCK,
    MEMBER_LOCK,
    SCHEMA_VERSION,
    WRITER_LOCK,
    OutboxTable,
    outbox_partition_ddl,
)

__all__ = ["PostgresOutboxStore", "PostgresSession"]

_log = structlog.get_logger("eventyard.outbox.postgres")

_MAX_CHECKPOINTS = 512
_DELETE_CHUNK = 5000


@contextlib.contextmanager
def _translated(what: str) -> Iterator[None]:
    """Driver errors as the outbox's: connection trouble is retryable, a missing table is not."""
    try:
        yield
    except (pg_errors.UndefinedTable, pg_errors.UndefinedFunction) as error:
        raise ConfigError(
            f"{what}: {error.diag.message_primary}; create the outbox first "
            "(eventyard-outbox migrate, or create_outbox_schema in a migration)"
        ) from error
    except (psycopg.OperationalError, psycopg.InterfaceError) as error:
        raise StoreUnavailable(f"{what}: PostgreSQL unavailable: {error}".strip()) from error


class PostgresOutboxStore(OutboxStore):
    """Outbox rows in PostgreSQL, read by relays over plain psycopg connections.

    The relay needs its own direct connection (session-level advisory locks and LISTEN do not
    survive a transaction-pooling proxy such as PgBouncer in transaction mode).
    ``refine_after_s``: how long rows may wait for transactions that are not outbox writers
    (long reports, batch jobs) before the relay looks up which open transactions are writers.
    """

    def __init__(
        self,
        dsn: str,
        *,
        table: OutboxTable | None = None,
        cleanup: Cleanup | None = None,
        connect_timeout_s: float = 5.0,
        refine_after_s: float = 0.05,
    ) -> None:
        self.dsn = dsn
        self.table = table or OutboxTable()
        self._cleanup = cleanup or Cleanup()
        self.connect_timeout_s = connect_timeout_s
        self.refine_after_s = refine_after_s

    @property
    def partitions(self) -> int:
        return self.table.partitions

    @property
    def cleanup_policy(self) -> Cleanup:
        return self._cleanup

    def connect(self, member: str) -> PostgresSession:
        return PostgresSession(self, member)


@dataclass(frozen=True, slots=True)
class _Checkpoint:
    """Every seq <= ``seq`` is final once none of the transactions ``open`` is in progress."""

    seq: int
    open: frozenset[str]
    taken: float


class PostgresSession(StoreSession):
    """One relay's connection: group membership, partition locks, LISTEN, reads and marks."""

    def __init__(self, store: PostgresOutboxStore, member: str) -> None:
        self._store = store
        self._table = store.table
        self._ns = store.table.lock_namespace
        self._checkpoints: deque[_Checkpoint] = deque()
        self._horizon = 0
        self._refined_at = 0.0
        self._owned: set[int] = set()
        with _translated("connecting to the outbox"):
            self._conn = psycopg.connect(
                store.dsn,
                autocommit=True,
                connect_timeout=max(1, round(store.connect_timeout_s)),
                application_name=f"eventyard-outbox:{member}"[:63],
            )
        try:
            self._check_table()
            with _translated("joining the relay group"):
                self._conn.execute(
                    "SELECT pg_advisory_lock_shared(%s, %s)", (self._ns, MEMBER_LOCK)
                )
                if self._table.notify:
                    self._conn.execute(
                        sql.SQL("LISTEN {}").format(sql.Identifier(self._table.channel))
                    )
            if self._table.time_partitioned:
                self.ensure_partitions()
        except BaseException:
            self._conn.close()
            raise

    def _check_table(self) -> None:
        with _translated("reading the outbox table"):
            row = self._conn.execute(
                "SELECT obj_description(%s::regclass, 'pg_class')",
                (f"{self._table.schema}.{self._table.name}",),
            ).fetchone()
        try:
            meta: dict[str, Any] = json.loads(row[0] if row and row[0] else "{}")[
                "eventyard.outbox"
            ]
        except (KeyError, ValueError, TypeError) as error:
            raise ConfigError(
                f"{self._table.qualified} was not made by eventyard.outbox (no table comment)"
            ) from error
        if meta.get("version", 0) < SCHEMA_VERSION:
            raise ConfigError(
                f"{self._table.qualified} was made by an older eventyard.outbox (schema version "
                f"{meta.get('version')}, this relay needs {SCHEMA_VERSION}): run "
                "create_outbox_schema again (it is idempotent) to bring its functions up to date"
            )
        if meta.get("partitions") != self._table.partitions:
            raise ConfigError(
                f"{self._table.qualified} has {meta.get('partitions')} partitions, but the relay "
                f"is configured with {self._table.partitions}"
            )

    # ---------------------------------------------------------------- group and partitions

    def members(self) -> int:
        with _translated("counting relays"):
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
                "AND objid = %s AND objsubid = 2 AND granted AND database = "
                # advisory locks are server-wide: other databases' relays hold the same keys
                "(SELECT oid FROM pg_database WHERE datname = current_database())",
                (self._ns, MEMBER_LOCK),
            ).fetchone()
        return int(row[0]) if row else 0

    def try_acquire(self, partition: int) -> bool:
        if partition in self._owned:
            return True  # advisory locks count: never take one twice
        with _translated("acquiring a partition"):
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (self._ns, partition)
            ).fetchone()
        if row and row[0]:
            self._owned.add(partition)
            return True
        return False

    def release(self, partition: int) -> None:
        if partition not in self._owned:
            return
        with _translated("releasing a partition"):
            self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._ns, partition))
        self._owned.discard(partition)

    def owners(self) -> dict[int, str]:
        """Which relay (application name) owns each partition now (for status reports)."""
        with _translated("reading partition owners"):
            rows = self._conn.execute(
                "SELECT l.objid::int, a.application_name FROM pg_locks l "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                "AND l.classid = %s AND l.objsubid = 2 AND l.granted AND l.objid < %s "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (self._ns, WRITER_LOCK),
            ).fetchall()
        return {int(p): str(name).removeprefix("eventyard-outbox:") for p, name in rows}

    # ---------------------------------------------------------------- reading

    def horizon(self) -> Horizon:
        with _translated("reading the horizon"):
            row = self._conn.execute(
                sql.SQL("SELECT last_seq, in_progress FROM {}()").format(
                    sql.SQL(self._table.function("snapshot"))
                )
            ).fetchone()
        assert row is not None
        now = time.monotonic()
        last_seq, in_progress = int(row[0]), frozenset(row[1] or ())
        self._checkpoints.append(_Checkpoint(last_seq, in_progress, now))
        self._advance(in_progress)
        oldest = self._checkpoints[0] if self._checkpoints else None
        if (
            oldest is not None
            and now - oldest.taken > self._store.refine_after_s
            and now - self._refined_at > self._store.refine_after_s
        ):
            self._refine()
            self._advance(in_progress)
        while len(self._checkpoints) > _MAX_CHECKPOINTS:
            self._checkpoints.popleft()  # loses precision only: a later checkpoint still holds
        return Horizon(safe=self._horizon, latest=last_seq)

    def _advance(self, in_progress: frozenset[str]) -> None:
        """Move the horizon to the highest checkpoint none of whose transactions is open."""
        for checkpoint in self._checkpoints:
            if checkpoint.seq > self._horizon and not checkpoint.open & in_progress:
                self._horizon = checkpoint.seq
        while self._checkpoints and self._checkpoints[0].seq <= self._horizon:
            self._checkpoints.popleft()

    def _refine(self) -> None:
        """Keep, in every waiting checkpoint, only the transactions holding the writer lock."""
        with _translated("reading the writers"):
            row = self._conn.execute(
                sql.SQL("SELECT {}()").format(sql.SQL(self._table.function("writers")))
            ).fetchone()
        writers = frozenset(row[0] or ()) if row else frozenset()
        self._checkpoints = deque(
            _Checkpoint(c.seq, c.open & writers, c.taken) for c in self._checkpoints
        )
        self._refined_at = time.monotonic()

    def fetch(
        self, partitions: Collection[int], *, after: int, upto: int, limit: int
    ) -> list[OutboxRow]:
        if not partitions or upto <= after:
            return []
        query = sql.SQL(
            "SELECT seq, vpart, id::text, aggregatetype, aggregateid, type, payload, contenttype, "
            "headers::text, traceparent, tracestate FROM {} "
            "WHERE vpart = ANY(%s::smallint[]) AND seq > %s AND seq <= %s "
            "AND published_at IS NULL AND failed_at IS NULL ORDER BY seq LIMIT %s"
        ).format(sql.SQL(self._table.qualified))
        with _translated("reading outbox rows"):
            rows = self._conn.execute(query, (sorted(partitions), after, upto, limit)).fetchall()
        return [
            OutboxRow(
                seq=r[0],
                partition=r[1],
                id=r[2],
                aggregate_type=r[3],
                aggregate_id=r[4],
                type=r[5],
                payload=bytes(r[6] or b""),
                content_type=r[7],
                headers_json=r[8],
                traceparent=r[9],
                tracestate=r[10],
            )
            for r in rows
        ]

    # ---------------------------------------------------------------- marking

    def complete(self, seqs: Sequence[int]) -> None:
        if not seqs:
            return
        if self._store.cleanup_policy.retention is None:
            statement = "DELETE FROM {} WHERE seq = ANY(%s)"
        else:
            statement = "UPDATE {} SET published_at = now() WHERE seq = ANY(%s)"
        with _translated("marking rows published"):
            self._conn.execute(
                sql.SQL(statement).format(sql.SQL(self._table.qualified)), (list(seqs),)
            )

    def set_aside(self, seq: int, error: str) -> None:
        with _translated("setting a row aside"):
            self._conn.execute(
                sql.SQL("UPDATE {} SET failed_at = now(), error = %s WHERE seq = %s").format(
                    sql.SQL(self._table.qualified)
                ),
                (error[:2000], seq),
            )

    def wait(self, timeout_s: float) -> bool:
        with _translated("waiting for notifications"):
            notified = any(
                True for _ in self._conn.notifies(timeout=max(timeout_s, 0.0), stop_after=1)
            )
            if notified:
                for _ in self._conn.notifies(timeout=0):
                    pass  # the rest of a burst of commits: one wake-up for all of them
        return notified

    # ---------------------------------------------------------------- reporting, cleanup

    def backlog(self) -> Backlog:
        with _translated("measuring the backlog"):
            row = self._conn.execute(
                sql.SQL(
                    "SELECT count(*) FILTER (WHERE failed_at IS NULL), "
                    "extract(epoch FROM now() - min(created_at) FILTER (WHERE failed_at IS NULL)), "
                    "count(*) FILTER (WHERE failed_at IS NOT NULL) "
                    "FROM {} WHERE published_at IS NULL"
                ).format(sql.SQL(self._table.qualified))
            ).fetchone()
        assert row is not None
        return Backlog(
            pending=int(row[0]),
            oldest_age_s=None if row[1] is None else max(0.0, float(row[1])),
            set_aside=int(row[2]),
        )

    def cleanup(self, retention: timedelta) -> int:
        """Remove published rows older than ``retention``; one relay at a time does it."""
        with _translated("cleaning up published rows"):
            locked = self._conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (self._ns, CLEANUP_LOCK)
            ).fetchone()
            if not (locked and locked[0]):
                return 0
            try:
                removed = 0
                if self._table.time_partitioned:
                    self.ensure_partitions()
                    removed += self._drop_old_partitions(retention)
                while True:
                    cursor = self._conn.execute(
                        sql.SQL(
                            "DELETE FROM {t} WHERE seq IN (SELECT seq FROM {t} "
                            "WHERE published_at < now() - %s LIMIT %s)"
                        ).format(t=sql.SQL(self._table.qualified)),
                        (retention, _DELETE_CHUNK),
                    )
                    removed += cursor.rowcount
                    if cursor.rowcount < _DELETE_CHUNK:
                        return removed
            finally:
                self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (self._ns, CLEANUP_LOCK))

    def ensure_partitions(self, days_ahead: int = 3) -> None:
        """Create the daily partitions from today to ``days_ahead`` days on (time-partitioned)."""
        today = datetime.now(UTC).date()
        with _translated("creating partitions"):
            for offset in range(days_ahead + 1):
                day = today + timedelta(days=offset)
                try:
                    self._conn.execute(outbox_partition_ddl(self._table, day).encode())
                except pg_errors.CheckViolation:
                    # Rows of that day already sit in the DEFAULT partition: leave the day
                    # there (the retention cleanup deletes them row by row).
                    _log.warning("day partition not created: rows in DEFAULT", day=str(day))

    def _drop_old_partitions(self, retention: timedelta) -> int:
        cutoff = datetime.now(UTC) - retention
        rows = self._conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE i.inhparent = %s::regclass AND c.relname ~ %s",
            (f"{self._table.schema}.{self._table.name}", rf"^{self._table.name}_p\d{{8}}$"),
        ).fetchall()
        dropped = 0
        for (name,) in rows:
            day = date(int(name[-8:-4]), int(name[-4:-2]), int(name[-2:]))
            upper = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
            if upper > cutoff:
                continue
            partition = sql.Identifier(self._table.schema, name)
            pending = self._conn.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE published_at IS NULL").format(partition)
            ).fetchone()
            if pending and pending[0]:
                continue  # never drop a row that was not published
            count = self._conn.execute(sql.SQL("SELECT count(*) FROM {}").format(partition))
            counted = count.fetchone()
            self._conn.execute(sql.SQL("DROP TABLE {}").format(partition))
            dropped += int(counted[0]) if counted else 0
        return dropped

    def close(self) -> None:
        # Release membership and partitions before the connection goes: the server frees a
        # closed session's locks only when its backend exits, which peers would see late.
        with contextlib.suppress(Exception):
            self._conn.execute("SELECT pg_advisory_unlock_all()")
        with contextlib.suppress(Exception):
            self._conn.close()
