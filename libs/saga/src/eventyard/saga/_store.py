"""The SQL for saga instances and their step log (PostgreSQL, inside the caller's session)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from eventyard.saga._core import SagaRecord
from eventyard.saga._exceptions import ConcurrentUpdate
from eventyard.saga._model import LogEntry, LogOutcome, Phase, SagaInstance, SagaStatus
from eventyard.saga._schema import SagaTables

__all__ = ["SagaStore", "instance_of", "log_entry_of"]

_TERMINAL = (SagaStatus.COMPLETED, SagaStatus.COMPENSATED)

_COLUMNS = (
    "id, type, definition_version, version, sagastatus, currentstep, phase, attempt, payload, "
    "stepstatus, machine, wake_at, request, request_reason, reason, trace_id, traceparent, "
    "created_at, updated_at, finished_at"
)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def instance_of(row: Row[Any]) -> SagaInstance:
    """A state-table row as a :class:`SagaInstance`."""
    return SagaInstance(
        id=row.id,
        type=row.type,
        definition_version=row.definition_version,
        status=SagaStatus(row.sagastatus),
        current_step=row.currentstep,
        phase=None if row.phase is None else Phase(row.phase),
        attempt=row.attempt,
        version=row.version,
        data=dict(row.payload or {}),
        wake_at=row.wake_at,
        reason=row.reason,
        trace_id=row.trace_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        step_status=dict(row.stepstatus or {}),
        pending_request=row.request,
    )


def log_entry_of(row: Row[Any]) -> LogEntry:
    """A step-log row as a :class:`LogEntry`."""
    return LogEntry(
        saga_id=row.saga_id,
        step=row.step,
        phase=None if row.phase is None else Phase(row.phase),
        attempt=row.attempt,
        outcome=LogOutcome(row.outcome),
        command=row.command,
        reply=row.reply,
        detail=row.detail,
        trace_id=row.trace_id,
        at=row.at,
        seq=row.seq,
    )


class SagaStore:
    """Reads and writes ``saga_state`` and ``saga_step_log`` in a given session."""

    def __init__(self, tables: SagaTables | None = None) -> None:
        self.tables = tables or SagaTables()
        s, g = self.tables.state_q, self.tables.log_q
        # Table names come from SagaTables, which admits plain identifiers only.
        self._insert = sa.text(
            f"INSERT INTO {s} (id, type, definition_version, version, sagastatus, currentstep, "  # noqa: S608 - SagaTables names only
            "phase, attempt, payload, stepstatus, machine, wake_at, reason, trace_id, "
            "traceparent, owner, finished_at) VALUES (:id, :type, :definition_version, 0, "
            ":status, :step, :phase, :attempt, CAST(:payload AS jsonb), "
            "CAST(:stepstatus AS jsonb), CAST(:machine AS jsonb), :wake_at, :reason, :trace_id, "
            ":traceparent, :owner, CASE WHEN :terminal THEN now() END)"
        )
        self._update = sa.text(
            f"UPDATE {s} SET version = version + 1, sagastatus = :status, currentstep = :step, "  # noqa: S608 - SagaTables names only
            "phase = :phase, attempt = :attempt, payload = CAST(:payload AS jsonb), "
            "stepstatus = CAST(:stepstatus AS jsonb), machine = CAST(:machine AS jsonb), "
            "wake_at = :wake_at, reason = :reason, request = :request, "
            "request_reason = :request_reason, owner = :owner, updated_at = now(), "
            "finished_at = CASE WHEN :terminal THEN now() END "
            "WHERE id = :id AND version = :version"
        )
        self._lock = sa.text(f"SELECT {_COLUMNS} FROM {s} WHERE id = :id FOR UPDATE")  # noqa: S608 - SagaTables names only
        self._get = sa.text(f"SELECT {_COLUMNS} FROM {s} WHERE id = :id")  # noqa: S608 - SagaTables names only
        self._exists = sa.text(f"SELECT type FROM {s} WHERE id = :id")  # noqa: S608 - SagaTables names only
        self._due = sa.text(
            f"SELECT {_COLUMNS} FROM {s} WHERE wake_at <= :now "  # noqa: S608 - SagaTables names only
            "AND (type || ':' || definition_version) = ANY(:keys) "
            "ORDER BY wake_at LIMIT :limit FOR UPDATE SKIP LOCKED"
        )
        self._set_wake = sa.text(f"UPDATE {s} SET wake_at = :wake_at WHERE id = :id")  # noqa: S608 - SagaTables names only
        self._log = sa.text(
            f"INSERT INTO {g} (saga_id, step, phase, attempt, command, outcome, reply, detail, "  # noqa: S608 - SagaTables names only
            "trace_id) VALUES (:saga_id, :step, :phase, :attempt, :command, :outcome, "
            "CAST(:reply AS jsonb), :detail, :trace_id)"
        )
        self._read_log = sa.text(
            f"SELECT seq, saga_id, step, phase, attempt, command, outcome, reply, detail, "  # noqa: S608 - SagaTables names only
            f"trace_id, at FROM {g} WHERE saga_id = :id ORDER BY seq"
        )

    # ---------------------------------------------------------------- instances

    def _params(self, record: SagaRecord, *, owner: str | None) -> dict[str, Any]:
        machine = record.machine
        active = machine.active
        wake_at = machine.due if active else None
        return {
            "id": record.id,
            "status": machine.status.value,
            "step": record.step_name(machine.step),
            "phase": None if machine.phase is None else machine.phase.value,
            "attempt": machine.attempt,
            "payload": _json(record.data_json()),
            "stepstatus": _json(record.step_status),
            "machine": _json(machine.to_json()),
            "wake_at": wake_at,
            "reason": machine.reason,
            "request": record.request,
            "request_reason": record.request_reason,
            "owner": owner,
            "terminal": machine.status in _TERMINAL,
        }

    def insert(self, session: Session, record: SagaRecord, *, owner: str | None = None) -> None:
        """Store a new instance."""
        params = self._params(record, owner=owner)
        params.pop("request")
        params.pop("request_reason")
        params.update(
            type=record.definition.name,
            definition_version=record.definition.version,
            trace_id=record.trace_id,
            traceparent=record.traceparent,
        )
        session.execute(self._insert, params)

    def update(self, session: Session, record: SagaRecord, *, owner: str | None = None) -> None:
        """Store the new state if the instance still has ``record.version``; bump the version."""
        params = self._params(record, owner=owner)
        params["version"] = record.version
        result = session.execute(self._update, params)
        if getattr(result, "rowcount", 1) != 1:
            raise ConcurrentUpdate(
                f"saga {record.id} changed since version {record.version} was read"
            )
        record.version += 1

    def lock(self, session: Session, saga_id: uuid.UUID) -> Row[Any] | None:
        """The instance's row, locked until the transaction ends (None if there is none)."""
        return session.execute(self._lock, {"id": saga_id}).first()

    def get(self, session: Session, saga_id: uuid.UUID) -> Row[Any] | None:
        """The instance's row, unlocked."""
        return session.execute(self._get, {"id": saga_id}).first()

    def type_of(self, session: Session, saga_id: uuid.UUID) -> str | None:
        """The saga type of an existing instance (None if there is none)."""
        row = session.execute(self._exists, {"id": saga_id}).first()
        return None if row is None else str(row.type)

    def due(
        self, session: Session, *, now: datetime, keys: Sequence[str], limit: int
    ) -> Sequence[Row[Any]]:
        """Instances whose timer is due, of the given ``type:version`` keys, locked; instances
        locked by another transaction are skipped (another orchestrator is on them)."""
        return session.execute(self._due, {"now": now, "keys": list(keys), "limit": limit}).all()

    def set_wake(self, session: Session, saga_id: uuid.UUID, wake_at: datetime | None) -> None:
        """Move an instance's timer (without a new version: nothing else changes)."""
        session.execute(self._set_wake, {"id": saga_id, "wake_at": wake_at})

    # ---------------------------------------------------------------- the log

    def append(self, session: Session, entries: Sequence[LogEntry]) -> None:
        """Append log lines."""
        if not entries:
            return
        session.execute(
            self._log,
            [
                {
                    "saga_id": e.saga_id,
                    "step": e.step,
                    "phase": None if e.phase is None else e.phase.value,
                    "attempt": e.attempt,
                    "command": e.command,
                    "outcome": e.outcome.value,
                    "reply": None if e.reply is None else _json(dict(e.reply)),
                    "detail": e.detail,
                    "trace_id": e.trace_id,
                }
                for e in entries
            ],
        )

    def read_log(self, session: Session, saga_id: uuid.UUID) -> list[LogEntry]:
        """Every log line of a saga, in order."""
        return [log_entry_of(r) for r in session.execute(self._read_log, {"id": saga_id})]
