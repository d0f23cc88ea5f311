"""The saga tables and the statements that create them.

Names follow Debezium's saga example (``sagastate`` with ``type``, ``version``, ``payload``,
``currentstep``, ``stepstatus``, ``sagastatus``), so tools that read that layout read ours:

- ``saga_state``: one row per instance (data, status, current step, optimistic ``version``,
  the machine's state, the durable timer ``wake_at``, an operator's pending request).
- ``saga_step_log``: append-only (a trigger refuses UPDATE): step, phase, command, reply,
  outcome, attempt, time and trace id of everything that happened to a saga.
- ``saga_lock``: semantic locks (a record marked pending by one saga).
- ``saga_participant``: a participant's record of each command it handled, by saga, step and
  phase, so repeats replay the first reply instead of running the handler again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from eventyard.outbox import SupportsExecute
from eventyard.saga._exceptions import ConfigError

__all__ = [
    "SagaTables",
    "create_saga_schema",
    "drop_saga_schema",
    "saga_ddl",
]

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,39}")


def _identifier(value: str, what: str) -> str:
    if not _IDENTIFIER.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} is not a plain lower-case SQL identifier "
            "(letters, digits, underscores; at most 40 characters)"
        )
    return value


def _q(*parts: str) -> str:
    return ".".join(f'"{p}"' for p in parts)


@dataclass(frozen=True, kw_only=True)
class SagaTables:
    """Where the saga tables live: one schema, four table names."""

    schema: str = "public"
    state: str = "saga_state"
    log: str = "saga_step_log"
    locks: str = "saga_lock"
    participant: str = "saga_participant"

    def __post_init__(self) -> None:
        _identifier(self.schema, "schema name")
        for what in ("state", "log", "locks", "participant"):
            _identifier(getattr(self, what), f"{what} table name")

    def qualified(self, table: str) -> str:
        """The quoted ``"schema"."table"`` of one of the names."""
        return _q(self.schema, table)

    @property
    def state_q(self) -> str:
        """The quoted state table."""
        return _q(self.schema, self.state)

    @property
    def log_q(self) -> str:
        """The quoted step-log table."""
        return _q(self.schema, self.log)

    @property
    def locks_q(self) -> str:
        """The quoted semantic-lock table."""
        return _q(self.schema, self.locks)

    @property
    def participant_q(self) -> str:
        """The quoted participant table."""
        return _q(self.schema, self.participant)


_STATUSES = (
    "'STARTED', 'RUNNING', 'COMPENSATING', 'COMPLETED', 'COMPENSATED', "
    "'COMPENSATION_FAILED', 'FAILED'"
)


def _locks_ddl(t: SagaTables) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS {t.locks_q} (
  resource text PRIMARY KEY,
  saga_id uuid NOT NULL,
  saga_type text NOT NULL,
  step text NOT NULL,
  acquired_at timestamptz NOT NULL DEFAULT now()
)""",
        f'CREATE INDEX IF NOT EXISTS "{t.locks}_saga" ON {t.locks_q} (saga_id)',
    ]


def saga_ddl(
    tables: SagaTables | None = None, *, orchestrator: bool = True, participant: bool = False
) -> list[str]:
    """The statements that create the orchestrator's tables (state, step log, locks) and/or a
    participant's (its command record, locks); each is idempotent."""
    t = tables or SagaTables()
    statements = [f"CREATE SCHEMA IF NOT EXISTS {_q(t.schema)}"]
    if orchestrator:
        guard = _q(t.schema, f"{t.log}_append_only")
        statements += [
            f"""CREATE TABLE IF NOT EXISTS {t.state_q} (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  definition_version integer NOT NULL,
  version bigint NOT NULL DEFAULT 0,
  sagastatus text NOT NULL CHECK (sagastatus IN ({_STATUSES})),
  currentstep text,
  phase text CHECK (phase IN ('action', 'compensation')),
  attempt integer NOT NULL DEFAULT 0,
  payload jsonb NOT NULL,
  stepstatus jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  machine jsonb NOT NULL,
  wake_at timestamptz,
  request text CHECK (request IN ('retry', 'abort')),
  request_reason text,
  reason text,
  trace_id text,
  traceparent text,
  owner text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
)""",
            f'CREATE INDEX IF NOT EXISTS "{t.state}_wake" ON {t.state_q} (wake_at) '
            "WHERE wake_at IS NOT NULL",
            f'CREATE INDEX IF NOT EXISTS "{t.state}_status" ON {t.state_q} '
            "(sagastatus, type, created_at)",
            f"""CREATE TABLE IF NOT EXISTS {t.log_q} (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  saga_id uuid NOT NULL,
  step text,
  phase text,
  attempt integer,
  command text,
  outcome text NOT NULL,
  reply jsonb,
  detail text,
  trace_id text,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
)""",
            f'CREATE INDEX IF NOT EXISTS "{t.log}_saga" ON {t.log_q} (saga_id, seq)',
            f"""CREATE OR REPLACE FUNCTION {guard}() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'the saga step log is append-only: rows are never updated';
END
$fn$""",
            f'CREATE OR REPLACE TRIGGER "{t.log}_append_only" BEFORE UPDATE ON {t.log_q} '
            f"FOR EACH ROW EXECUTE FUNCTION {guard}()",
        ]
    statements += _locks_ddl(t)
    if participant:
        statements += [
            f"""CREATE TABLE IF NOT EXISTS {t.participant_q} (
  participant text NOT NULL,
  saga_id uuid NOT NULL,
  step text NOT NULL,
  phase text NOT NULL,
  command text NOT NULL,
  outcome text NOT NULL,
  reason text,
  reply jsonb NOT NULL DEFAULT '{{}}'::jsonb,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (participant, saga_id, step, phase)
)""",
            f'CREATE INDEX IF NOT EXISTS "{t.participant}_handled_at" ON {t.participant_q} '
            "(handled_at)",
        ]
    return statements


def create_saga_schema(
    op: SupportsExecute,
    *,
    tables: SagaTables | None = None,
    orchestrator: bool = True,
    participant: bool = False,
) -> None:
    """Create the saga tables through ``op.execute`` (Alembic's ``op``, a psycopg connection).

    The outbox and inbox come from ``eventyard.outbox.create_outbox_schema``.
    """
    for statement in saga_ddl(tables, orchestrator=orchestrator, participant=participant):
        op.execute(statement)


def drop_saga_schema(op: SupportsExecute, *, tables: SagaTables | None = None) -> None:
    """Drop what :func:`create_saga_schema` made (an Alembic ``downgrade``)."""
    t = tables or SagaTables()
    for table in (t.participant_q, t.locks_q, t.log_q, t.state_q):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {_q(t.schema, f'{t.log}_append_only')}()")
