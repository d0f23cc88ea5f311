"""Operating sagas: list, inspect, retry a failed step, abort with compensation.

Retry and abort are *requests*: they are written to the instance (``request``) with its timer
set to now, and the next timer pass of any running orchestrator carries them out with the
instance's own definition. So operating needs only the database, never the services' code,
and a request survives restarts like any other timer.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from eventyard.saga._exceptions import ConcurrentUpdate, OperationRefused, UnknownSaga
from eventyard.saga._model import LogEntry, SagaInstance, SagaStatus
from eventyard.saga._schema import SagaTables
from eventyard.saga._store import SagaStore, instance_of

__all__ = ["SagaAdmin", "SagaCount", "SagaFilter"]

_COLUMNS = (
    "id, type, definition_version, version, sagastatus, currentstep, phase, attempt, payload, "
    "stepstatus, machine, wake_at, request, request_reason, reason, trace_id, traceparent, "
    "created_at, updated_at, finished_at"
)


@dataclass(frozen=True, kw_only=True)
class SagaFilter:
    """Which instances :meth:`SagaAdmin.list` returns (newest first).

    ``idle_for`` keeps those not changed for at least that long (stuck candidates).
    """

    statuses: tuple[SagaStatus, ...] = ()
    saga_type: str | None = None
    version: int | None = None
    step: str | None = None
    idle_for: timedelta | None = None
    limit: int = 50


@dataclass(frozen=True, kw_only=True)
class SagaCount:
    """How many instances of a type and version are in a status."""

    saga_type: str
    version: int
    status: SagaStatus
    count: int


class SagaAdmin:
    """Reads instances and files operators' requests, through ``sessions`` (a sessionmaker)."""

    def __init__(
        self, sessions: Callable[[], Session], *, tables: SagaTables | None = None
    ) -> None:
        self.tables = tables or SagaTables()
        self._sessions = sessions
        self._store = SagaStore(self.tables)

    # ---------------------------------------------------------------- reading

    def list(self, where: SagaFilter | None = None) -> list[SagaInstance]:
        """Instances matching ``where``, newest first."""
        f = where or SagaFilter()
        clauses: list[str] = []
        params: dict[str, Any] = {"limit": f.limit}
        if f.statuses:
            clauses.append("sagastatus = ANY(:statuses)")
            params["statuses"] = [s.value for s in f.statuses]
        if f.saga_type is not None:
            clauses.append("type = :type")
            params["type"] = f.saga_type
        if f.version is not None:
            clauses.append("definition_version = :version")
            params["version"] = f.version
        if f.step is not None:
            clauses.append("currentstep = :step")
            params["step"] = f.step
        if f.idle_for is not None:
            clauses.append("updated_at <= :before")
            params["before"] = datetime.now(UTC) - f.idle_for
        where_sql = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        query = sa.text(
            f"SELECT {_COLUMNS} FROM {self.tables.state_q} {where_sql} "  # noqa: S608 - fixed text
            "ORDER BY created_at DESC, id LIMIT :limit"
        )
        with self._sessions() as session:
            return [instance_of(r) for r in session.execute(query, params)]

    def summary(self) -> builtins.list[SagaCount]:
        """Counts by type, version and status."""
        query = sa.text(
            f"SELECT type, definition_version, sagastatus, count(*) AS n "  # noqa: S608 - SagaTables names only
            f"FROM {self.tables.state_q} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )
        with self._sessions() as session:
            return [
                SagaCount(
                    saga_type=r.type,
                    version=r.definition_version,
                    status=SagaStatus(r.sagastatus),
                    count=int(r.n),
                )
                for r in session.execute(query)
            ]

    def _row(self, session: Session, saga_id: uuid.UUID | str) -> Row[Any]:
        text = str(saga_id).strip().lower()
        try:
            exact = uuid.UUID(text)
        except ValueError:
            exact = None
        if exact is not None:
            row = self._store.get(session, exact)
        else:
            if len(text) < 4:
                raise UnknownSaga(f"{saga_id!r} is not a saga id (give at least 4 characters)")
            query = sa.text(
                f"SELECT {_COLUMNS} FROM {self.tables.state_q} "  # noqa: S608 - SagaTables names only
                "WHERE id::text LIKE :prefix LIMIT 2"
            )
            rows = session.execute(query, {"prefix": text + "%"}).all()
            if len(rows) > 1:
                raise UnknownSaga(f"{saga_id!r} matches more than one saga; give more of the id")
            row = rows[0] if rows else None
        if row is None:
            raise UnknownSaga(f"no saga {saga_id} in {self.tables.state_q}")
        return row

    def get(self, saga_id: uuid.UUID | str) -> SagaInstance:
        """One instance (a unique prefix of the id will do)."""
        with self._sessions() as session:
            return instance_of(self._row(session, saga_id))

    def log(self, saga_id: uuid.UUID | str) -> builtins.list[LogEntry]:
        """The instance's step log, in order."""
        with self._sessions() as session:
            row = self._row(session, saga_id)
            return self._store.read_log(session, row.id)

    # ---------------------------------------------------------------- requests

    def retry(self, saga_id: uuid.UUID | str, *, expect_version: int | None = None) -> SagaInstance:
        """Ask the orchestrators to retry the instance's failed (or backing-off) step now, with
        a fresh attempt budget: a compensation of a ``COMPENSATION_FAILED`` saga, the action of
        a ``FAILED`` one."""
        allowed = (
            SagaStatus.COMPENSATION_FAILED,
            SagaStatus.FAILED,
            SagaStatus.RUNNING,
            SagaStatus.COMPENSATING,
        )
        return self._request(saga_id, "retry", None, allowed=allowed, expect_version=expect_version)

    def abort(
        self,
        saga_id: uuid.UUID | str,
        *,
        reason: str = "aborted by an operator",
        expect_version: int | None = None,
    ) -> SagaInstance:
        """Ask the orchestrators to stop the saga and compensate its completed steps (refused
        once the pivot has succeeded: then the saga can only go forward)."""
        allowed = (SagaStatus.STARTED, SagaStatus.RUNNING)
        return self._request(
            saga_id, "abort", reason, allowed=allowed, expect_version=expect_version
        )

    def _request(
        self,
        saga_id: uuid.UUID | str,
        request: str,
        reason: str | None,
        *,
        allowed: Sequence[SagaStatus],
        expect_version: int | None,
    ) -> SagaInstance:
        with self._sessions() as session, session.begin():
            row = self._row(session, saga_id)
            locked = self._store.lock(session, row.id)
            assert locked is not None
            status = SagaStatus(locked.sagastatus)
            if expect_version is not None and locked.version != expect_version:
                raise ConcurrentUpdate(
                    f"saga {locked.id} is at version {locked.version}, not {expect_version}: "
                    "inspect it again"
                )
            if status not in allowed:
                names = ", ".join(s.value for s in allowed)
                raise OperationRefused(
                    f"cannot {request} saga {locked.id}: it is {status.value} "
                    f"({request} applies to {names})"
                )
            if request == "abort" and (locked.machine or {}).get("pivot_passed"):
                raise OperationRefused(
                    f"cannot abort saga {locked.id}: its pivot step has succeeded, so it only "
                    "goes forward now (retry its failed step instead)"
                )
            session.execute(
                sa.text(
                    f"UPDATE {self.tables.state_q} SET request = :request, "  # noqa: S608 - SagaTables names only
                    "request_reason = :reason, wake_at = :now WHERE id = :id"
                ),
                {"request": request, "reason": reason, "now": datetime.now(UTC), "id": locked.id},
            )
            return instance_of(self._store.get(session, locked.id))  # type: ignore[arg-type]
