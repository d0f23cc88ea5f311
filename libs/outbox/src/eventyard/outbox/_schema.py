"""The outbox and inbox tables: their specs, plain DDL, and an Alembic helper that emits it.

The outbox table keeps Debezium's Outbox Event Router column names (``id``, ``aggregatetype``,
``aggregateid``, ``type``, ``payload``) so the same table works with the polling relay and with
Debezium. The relay adds what it needs to read in order and in parallel:

- ``seq``: a total order, taken from a sequence by ``<table>_next_seq()``, which first takes a
  transaction-scoped shared advisory lock (the "writer lock") and a transaction id;
  ``<table>_snapshot()`` reads the sequence and then the transactions in progress, and
  ``<table>_writers()`` which of them hold the writer lock. Together they give the relay its
  safe horizon (see ``_postgres.py`` and the README).
- ``vpart``: the virtual partition, ``hashtextextended(aggregateid) mod partitions``, a stored
  generated column, so every writer (even plain SQL) files an aggregate's rows under one partition.
- ``published_at`` / ``failed_at`` / ``error``: for the retention cleanup mode and set-aside rows.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final, Protocol

from eventyard.outbox._exceptions import ConfigError

__all__ = [
    "DEFAULT_AUTOVACUUM",
    "InboxTable",
    "OutboxTable",
    "SupportsExecute",
    "create_outbox_schema",
    "drop_outbox_schema",
    "inbox_ddl",
    "outbox_ddl",
    "outbox_partition_ddl",
]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,39}")

#: objid of the writer lock, above any partition number (partitions are 1..4096).
WRITER_LOCK: Final = 1_000_000
#: objid of the shared lock every live relay holds: their count is the relay group's size.
MEMBER_LOCK: Final = 1_000_001
#: objid of the lock one relay takes while it runs the retention cleanup.
CLEANUP_LOCK: Final = 1_000_002
#: The version of the DDL, kept in the table's comment. 2: writers take a transaction id before
#: their number, and the horizon comes from snapshots.
SCHEMA_VERSION: Final = 2

#: Autovacuum settings for the outbox table: a queue table churns (every row is inserted, then
#: deleted or updated within seconds), so vacuum after a fixed number of dead rows rather than
#: a fraction of a table whose size swings between zero and the backlog.
DEFAULT_AUTOVACUUM: Final[Mapping[str, str]] = {
    "autovacuum_vacuum_scale_factor": "0",
    "autovacuum_vacuum_threshold": "5000",
    "autovacuum_vacuum_insert_scale_factor": "0",
    "autovacuum_vacuum_insert_threshold": "5000",
    "autovacuum_analyze_scale_factor": "0",
    "autovacuum_analyze_threshold": "5000",
    "autovacuum_vacuum_cost_delay": "0",
}


def _identifier(value: str, what: str) -> str:
    if not _IDENTIFIER.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} is not a plain lower-case SQL identifier "
            "(letters, digits, underscores; at most 40 characters)"
        )
    return value


def _q(*parts: str) -> str:
    return ".".join(f'"{p}"' for p in parts)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True, kw_only=True)
class OutboxTable:
    """Where the outbox lives and how it is laid out.

    ``partitions`` virtual partitions spread aggregates over relays; it is fixed when the table
    is created (it is part of the generated ``vpart`` column). ``time_partitioned`` makes the table
    ``PARTITION BY RANGE (created_at)`` with daily partitions, so retained rows go by dropping
    whole partitions instead of ``DELETE``. ``notify`` adds a statement trigger that sends
    ``NOTIFY <channel>`` so relays wake at once instead of on their next poll.
    """

    name: str = "outbox"
    schema: str = "public"
    partitions: int = 64
    time_partitioned: bool = False
    notify: bool = True
    autovacuum: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_AUTOVACUUM))

    def __post_init__(self) -> None:
        _identifier(self.name, "outbox table name")
        _identifier(self.schema, "schema name")
        if not 1 <= self.partitions <= 4096:
            raise ConfigError(f"partitions must be between 1 and 4096, not {self.partitions}")
        for key, value in self.autovacuum.items():
            if not re.fullmatch(r"[a-z_]+", key) or not re.fullmatch(r"[0-9.]+", value):
                raise ConfigError(f"autovacuum setting {key}={value!r} is not valid")

    @property
    def qualified(self) -> str:
        """The quoted ``"schema"."name"``."""
        return _q(self.schema, self.name)

    @property
    def sequence(self) -> str:
        """The quoted sequence that numbers rows."""
        return _q(self.schema, f"{self.name}_seq")

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel relays wait on."""
        return f"{self.schema}_{self.name}_inserted"

    @property
    def heartbeat_table(self) -> str:
        """The table Debezium's heartbeat query writes to (Debezium mode only)."""
        return f"{self.name}_heartbeat"

    @property
    def lock_namespace(self) -> int:
        """The advisory-lock class id of this table (a stable hash of its qualified name)."""
        return zlib.crc32(f"eventyard.outbox:{self.schema}.{self.name}".encode()) & 0x7FFFFFFF

    def function(self, suffix: str) -> str:
        """The quoted name of one of the table's helper functions."""
        return _q(self.schema, f"{self.name}_{suffix}")


@dataclass(frozen=True, kw_only=True)
class InboxTable:
    """Where an inbox (idempotent consumer) records the messages it has handled."""

    name: str = "inbox"
    schema: str = "public"

    def __post_init__(self) -> None:
        _identifier(self.name, "inbox table name")
        _identifier(self.schema, "schema name")

    @property
    def qualified(self) -> str:
        """The quoted ``"schema"."name"``."""
        return _q(self.schema, self.name)


def _horizon_functions(t: OutboxTable) -> list[str]:
    """``<table>_snapshot()``: the sequence's last value, then the ids of the transactions in
    progress (``backend_xid``, shown to every role, and prepared transactions): cheap.
    ``<table>_writers()``: those holding the writer lock (a scan of ``pg_locks``, the whole lock
    table), for the rare checkpoint held up by a long transaction that never wrote to the
    outbox."""
    ns = t.lock_namespace
    prepared = "SELECT transaction::text FROM pg_prepared_xacts"
    return [
        f"""CREATE OR REPLACE FUNCTION {t.function("snapshot")}(
  OUT last_seq bigint, OUT in_progress text[]
) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO last_seq FROM {t.sequence};
  SELECT coalesce(array_agg(x), '{{}}') INTO in_progress FROM (
    SELECT backend_xid::text FROM pg_stat_get_activity(NULL) WHERE backend_xid IS NOT NULL
    UNION ALL {prepared}
  ) AS open(x);
END
$fn$""",  # noqa: S608 - names come from OutboxTable, which admits plain identifiers only
        f"""CREATE OR REPLACE FUNCTION {t.function("writers")}() RETURNS text[]
LANGUAGE sql VOLATILE AS $fn$
  SELECT coalesce(array_agg(x), '{{}}') FROM (
    SELECT a.backend_xid::text FROM pg_locks l JOIN pg_stat_get_activity(NULL) a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.classid = {ns} AND l.objid = {WRITER_LOCK}
       AND l.objsubid = 2 AND l.granted AND a.backend_xid IS NOT NULL
    UNION ALL {prepared}
  ) AS open(x)
$fn$""",  # noqa: S608 - names come from OutboxTable, which admits plain identifiers only
    ]


def outbox_ddl(table: OutboxTable | None = None, *, debezium_heartbeat: bool = False) -> list[str]:
    """The statements that create the outbox table and its helpers; each is idempotent."""
    t = table or OutboxTable()
    statements = [
        *_numbering(t),
        *_table_and_indexes(t),
        # Read the sequence first, then the open transactions: every seq <= last_seq was taken
        # by a transaction that has ended or is in ``in_progress``.
        *_horizon_functions(t),
        _comment(t),
    ]
    if t.time_partitioned:
        statements += _first_partitions(t)
    if t.notify:
        statements += _notify_trigger(t)
    if debezium_heartbeat:
        statements.append(_heartbeat_table(t))
    return statements


def _numbering(t: OutboxTable) -> list[str]:
    """The schema, the sequence and ``<table>_next_seq()``, which hands out its numbers."""
    return [
        f"CREATE SCHEMA IF NOT EXISTS {_q(t.schema)}",
        f"CREATE SEQUENCE IF NOT EXISTS {t.sequence} AS bigint CACHE 1",
        # The writer lock and a transaction id come first, then the number: a transaction
        # holding a seq shows its id (backend_xid) and the lock (pg_locks) from before it took
        # the number until it ends.
        f"""CREATE OR REPLACE FUNCTION {t.function("next_seq")}() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
  PERFORM pg_advisory_xact_lock_shared({t.lock_namespace}, {WRITER_LOCK});
  PERFORM pg_current_xact_id();
  RETURN nextval({_literal(t.sequence)});
END
$fn$""",
    ]


def _table_and_indexes(t: OutboxTable) -> list[str]:
    """The table itself (numbered by ``next_seq``, owning the sequence) and its two indexes."""
    vpart = (
        f"(((hashtextextended(aggregateid, 0) % {t.partitions}) + {t.partitions}) % {t.partitions})"
    )
    key = "PRIMARY KEY (seq, created_at)" if t.time_partitioned else "PRIMARY KEY (seq)"
    tail = " PARTITION BY RANGE (created_at)" if t.time_partitioned else ""
    if t.autovacuum and not t.time_partitioned:
        tail += " WITH (" + ", ".join(f"{k} = {v}" for k, v in t.autovacuum.items()) + ")"
    return [
        f"""CREATE TABLE IF NOT EXISTS {t.qualified} (
  seq bigint NOT NULL DEFAULT {t.function("next_seq")}(),
  id uuid NOT NULL,
  aggregatetype text NOT NULL,
  aggregateid text NOT NULL,
  type text NOT NULL,
  payload bytea,
  headers jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  contenttype text,
  traceparent text,
  tracestate text,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  failed_at timestamptz,
  error text,
  vpart smallint GENERATED ALWAYS AS ({vpart}) STORED,
  {key}
){tail}""",
        f"ALTER SEQUENCE {t.sequence} OWNED BY {t.qualified}.seq",
        f'CREATE INDEX IF NOT EXISTS "{t.name}_pending" ON {t.qualified} (seq) '
        "WHERE published_at IS NULL AND failed_at IS NULL",
        f'CREATE INDEX IF NOT EXISTS "{t.name}_published_at" ON {t.qualified} (published_at) '
        "WHERE published_at IS NOT NULL",
    ]


def _comment(t: OutboxTable) -> str:
    """The table's comment: the DDL version and the settings relays must agree on."""
    comment = json.dumps(
        {
            "eventyard.outbox": {
                "version": SCHEMA_VERSION,
                "partitions": t.partitions,
                "lock_namespace": t.lock_namespace,
            }
        }
    )
    return f"COMMENT ON TABLE {t.qualified} IS {_literal(comment)}"


def _first_partitions(t: OutboxTable) -> list[str]:
    """Today's and the next three days' partitions (UTC), so rows never start out in the
    DEFAULT partition, and that DEFAULT partition; relays create the following days as time
    goes by."""
    return [
        f"""DO $do$
DECLARE day date;
BEGIN
  FOR i IN 0..3 LOOP
    day := (now() AT TIME ZONE 'UTC')::date + i;
    EXECUTE format(
      'CREATE TABLE IF NOT EXISTS %I.%I PARTITION OF {t.qualified} FOR VALUES FROM (%L) TO (%L)',
      {_literal(t.schema)}, {_literal(t.name)} || '_p' || to_char(day, 'YYYYMMDD'),
      day::text || ' 00:00+00', (day + 1)::text || ' 00:00+00');
  END LOOP;
END
$do$""",
        f"CREATE TABLE IF NOT EXISTS {_q(t.schema, t.name + '_default')} "
        f"PARTITION OF {t.qualified} DEFAULT",
    ]


def _notify_trigger(t: OutboxTable) -> list[str]:
    """A statement trigger sending ``NOTIFY <channel>`` after inserts, so relays wake at once."""
    return [
        f"""CREATE OR REPLACE FUNCTION {t.function("notify")}() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify({_literal(t.channel)}, '');
  RETURN NULL;
END
$fn$""",
        f'CREATE OR REPLACE TRIGGER "{t.name}_notify" AFTER INSERT ON {t.qualified} '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {t.function('notify')}()",
    ]


def _heartbeat_table(t: OutboxTable) -> str:
    """The table Debezium's heartbeat query writes to (Debezium mode only)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_q(t.schema, t.heartbeat_table)} "
        "(id integer PRIMARY KEY, beat_at timestamptz NOT NULL)"
    )


def outbox_partition_ddl(table: OutboxTable, day: date) -> str:
    """The statement that creates the daily partition holding ``day`` (time-partitioned tables)."""
    if not table.time_partitioned:
        raise ConfigError(f"{table.qualified} is not time-partitioned")
    name = _q(table.schema, f"{table.name}_p{day:%Y%m%d}")
    return (
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table.qualified} "
        f"FOR VALUES FROM ('{day.isoformat()} 00:00+00') "
        f"TO ('{(day + timedelta(days=1)).isoformat()} 00:00+00')"
    )


def inbox_ddl(table: InboxTable | None = None) -> list[str]:
    """The statements that create an inbox table; each is idempotent."""
    t = table or InboxTable()
    return [
        f"CREATE SCHEMA IF NOT EXISTS {_q(t.schema)}",
        f"""CREATE TABLE IF NOT EXISTS {t.qualified} (
  consumer text NOT NULL,
  message_id text NOT NULL,
  state text NOT NULL CHECK (state IN ('applied', 'failing', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  topic text,
  kafka_partition integer,
  kafka_offset bigint,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
)""",
        f'CREATE INDEX IF NOT EXISTS "{t.name}_received_at" ON {t.qualified} (received_at)',
    ]


class SupportsExecute(Protocol):
    """Anything with ``execute(sql)``: Alembic's ``op``, a psycopg connection or cursor."""

    def execute(self, sqltext: str, /) -> object:
        """Run one SQL statement."""
        ...


def create_outbox_schema(
    op: SupportsExecute,
    *,
    outbox: OutboxTable | None = None,
    inbox: InboxTable | None = None,
    debezium_heartbeat: bool = False,
) -> None:
    """Create the outbox (and, if given, an inbox) through ``op.execute``.

    In an Alembic migration::

        def upgrade() -> None:
            create_outbox_schema(op, outbox=OutboxTable(), inbox=InboxTable())
    """
    for statement in outbox_ddl(outbox, debezium_heartbeat=debezium_heartbeat):
        op.execute(statement)
    if inbox is not None:
        for statement in inbox_ddl(inbox):
            op.execute(statement)


def drop_outbox_schema(
    op: SupportsExecute, *, outbox: OutboxTable | None = None, inbox: InboxTable | None = None
) -> None:
    """Drop what :func:`create_outbox_schema` made (the Alembic ``downgrade``)."""
    t = outbox or OutboxTable()
    op.execute(f"DROP TABLE IF EXISTS {_q(t.schema, t.heartbeat_table)}")
    op.execute(f"DROP TABLE IF EXISTS {t.qualified}")
    op.execute(f"DROP SEQUENCE IF EXISTS {t.sequence}")
    for suffix in ("next_seq", "snapshot", "writers", "checkpoint", "notify"):
        op.execute(f"DROP FUNCTION IF EXISTS {t.function(suffix)}")
    if inbox is not None:
        op.execute(f"DROP TABLE IF EXISTS {inbox.qualified}")
