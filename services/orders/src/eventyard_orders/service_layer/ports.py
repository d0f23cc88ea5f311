"""What the use cases need from storage: small interfaces, implemented in ``adapters``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from eventyard_orders.domain.model import Order, OrderLine, OrderStatus, PricedLine
from eventyard_orders.domain.rejection import Failure

__all__ = ["OrderRepository", "SagaLog"]


class OrderRepository(Protocol):
    """Orders, read and written in the caller's transaction; writes stamp ``traceparent``."""

    def add(
        self,
        session: Session,
        *,
        order_id: uuid.UUID,
        customer_id: uuid.UUID,
        lines: Sequence[OrderLine],
        idempotency_key: str | None,
        request_hash: str,
        traceparent: str | None,
        trace_id: str | None,
    ) -> bool:
        """Insert a pending order; False when ``idempotency_key`` is taken already."""
        ...

    def by_key(self, session: Session, key: str) -> tuple[uuid.UUID, str] | None:
        """The id and request fingerprint of the order placed with ``key``."""
        ...

    def adopt_saga_trace(self, session: Session, order_id: uuid.UUID) -> None:
        """Take the trace of the order's saga when the request had none."""
        ...

    def get(self, session: Session, order_id: uuid.UUID) -> Order | None: ...

    def of_customer(
        self, session: Session, customer_id: uuid.UUID, *, limit: int
    ) -> list[Order]: ...

    def price(
        self,
        session: Session,
        order_id: uuid.UUID,
        *,
        lines: Sequence[PricedLine],
        total: int,
        traceparent: str | None,
    ) -> Order | None:
        """Store the prices of a pending order; the order, or None if it is not pending."""
        ...

    def finish(
        self,
        session: Session,
        order_id: uuid.UUID,
        *,
        status: OrderStatus,
        reason: str | None,
        traceparent: str | None,
    ) -> datetime | None:
        """End a pending order; when, or None if it was not pending."""
        ...


class SagaLog(Protocol):
    """The orchestrator's record of a saga, read in the caller's transaction."""

    def compensated(self, session: Session, saga_id: uuid.UUID) -> bool: ...

    def failure(self, session: Session, saga_id: uuid.UUID) -> Failure | None:
        """The action that failed for good, if any."""
        ...
