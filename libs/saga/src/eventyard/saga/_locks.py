"""Semantic locks: a record marked pending by one saga, so concurrent sagas leave it alone.

A lock is a row of ``saga_lock`` keyed by the resource's name (``"customer:42"``), taken in the
same transaction as the step's action and released when the saga completes or compensates (or
when that step is compensated). Application code that must not act on half-done work asks
:meth:`SemanticLocks.holder` first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventyard.saga._schema import SagaTables

__all__ = ["LockHolder", "SemanticLocks"]


@dataclass(frozen=True, kw_only=True)
class LockHolder:
    """Who holds a semantic lock."""

    resource: str
    saga_id: uuid.UUID
    saga_type: str
    step: str
    acquired_at: datetime


class SemanticLocks:
    """Semantic locks in PostgreSQL, always used inside the caller's transaction."""

    def __init__(self, tables: SagaTables | None = None) -> None:
        self.tables = tables or SagaTables()
        t = self.tables.locks_q
        self._insert = sa.text(
            f"INSERT INTO {t} (resource, saga_id, saga_type, step) "  # noqa: S608 - validated names
            "VALUES (:resource, :saga_id, :saga_type, :step) "
            "ON CONFLICT (resource) DO NOTHING RETURNING saga_id"
        )
        self._holder = sa.text(
            f"SELECT resource, saga_id, saga_type, step, acquired_at FROM {t} "  # noqa: S608 - SagaTables names only
            "WHERE resource = :resource"
        )
        self._release_saga = sa.text(f"DELETE FROM {t} WHERE saga_id = :saga_id")  # noqa: S608 - SagaTables names only
        self._release_one = sa.text(
            f"DELETE FROM {t} WHERE saga_id = :saga_id AND step = :step"  # noqa: S608 - SagaTables names only
        )

    def acquire(
        self, session: Session, resource: str, *, saga_id: uuid.UUID, saga_type: str, step: str
    ) -> LockHolder | None:
        """Take ``resource`` for this saga; None if it is now held by it (taking it again is
        harmless), else the other saga holding it."""
        params = {"resource": resource, "saga_id": saga_id, "saga_type": saga_type, "step": step}
        for _ in range(3):
            if session.execute(self._insert, params).first() is not None:
                return None
            held = self.holder(session, resource)
            if held is not None:
                return None if held.saga_id == saga_id else held
        held = self.holder(session, resource)
        return None if held is None or held.saga_id == saga_id else held

    def holder(self, session: Session, resource: str) -> LockHolder | None:
        """The saga holding ``resource`` (None when it is free)."""
        row = session.execute(self._holder, {"resource": resource}).first()
        if row is None:
            return None
        return LockHolder(
            resource=row.resource,
            saga_id=row.saga_id,
            saga_type=row.saga_type,
            step=row.step,
            acquired_at=row.acquired_at,
        )

    def release_step(self, session: Session, *, saga_id: uuid.UUID, step: str) -> int:
        """Release the locks one step of a saga took; how many were released."""
        result = session.execute(self._release_one, {"saga_id": saga_id, "step": step})
        return int(getattr(result, "rowcount", 0) or 0)

    def release_saga(self, session: Session, saga_id: uuid.UUID) -> int:
        """Release every lock of a saga; how many were released."""
        result = session.execute(self._release_saga, {"saga_id": saga_id})
        return int(getattr(result, "rowcount", 0) or 0)
