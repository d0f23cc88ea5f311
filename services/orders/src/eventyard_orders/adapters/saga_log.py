"""What the order saga's step log says about why a saga compensated."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventyard_orders.adapters.tables import SAGA
from eventyard_orders.domain.rejection import Failure

__all__ = ["SqlSagaLog"]

_FAILURE = sa.text(
    f"SELECT step, outcome, detail FROM {SAGA.log_q} "  # noqa: S608 - fixed table names
    "WHERE saga_id = :id AND outcome IN ('FAILED', 'GAVE_UP', 'ABORTED') "
    "AND (phase IS NULL OR phase = 'action') ORDER BY seq DESC LIMIT 1"
)
_COMPENSATED = sa.text(
    f"SELECT 1 FROM {SAGA.state_q} WHERE id = :id AND sagastatus = 'COMPENSATED'"  # noqa: S608 - fixed table names
)


class SqlSagaLog:
    """Reads the orchestrator's tables in the caller's transaction."""

    def compensated(self, session: Session, saga_id: uuid.UUID) -> bool:
        """True once the saga is stored as ``COMPENSATED``."""
        return session.execute(_COMPENSATED, {"id": saga_id}).first() is not None

    def failure(self, session: Session, saga_id: uuid.UUID) -> Failure | None:
        """The action that failed for good (refused, out of attempts, or aborted), if any."""
        row = session.execute(_FAILURE, {"id": saga_id}).first()
        if row is None:
            return None
        return Failure(step=row.step, outcome=row.outcome, detail=row.detail)
