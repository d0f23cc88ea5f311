"""Orders in PostgreSQL: every write stamps ``updated_at`` and the caller's ``traceparent``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from eventyard_orders.adapters.tables import SAGA, orders
from eventyard_orders.domain.model import Order, OrderLine, OrderStatus, PricedLine

__all__ = ["SqlOrders"]

_NOW = sa.func.statement_timestamp()


def _line(value: dict[str, Any]) -> OrderLine | PricedLine:
    if "unit_price" in value:
        return PricedLine(
            sku=value["sku"], quantity=int(value["quantity"]), unit_price=int(value["unit_price"])
        )
    return OrderLine(sku=value["sku"], quantity=int(value["quantity"]))


def _order(row: sa.Row[Any]) -> Order:
    return Order(
        id=row.id,
        customer_id=row.customer_id,
        status=OrderStatus(row.status),
        reason=row.reason,
        total=row.total,
        lines=tuple(_line(line) for line in row.lines),
        trace_id=row.trace_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


class SqlOrders:
    """The orders table, in the caller's session and transaction."""

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
        """Insert a ``PENDING`` order; False (nothing written) when its key is taken.

        A concurrent insert with the same key waits for the other transaction, then yields.
        """
        statement = (
            insert(orders)
            .values(
                id=order_id,
                customer_id=customer_id,
                status=OrderStatus.PENDING.value,
                lines=[line.to_json() for line in lines],
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                traceparent=traceparent,
                trace_id=trace_id,
            )
            .on_conflict_do_nothing(index_elements=[orders.c.idempotency_key])
            .returning(orders.c.id)
        )
        return session.execute(statement).first() is not None

    def by_key(self, session: Session, key: str) -> tuple[uuid.UUID, str] | None:
        """The id and request fingerprint of the order placed with ``key``."""
        row = session.execute(
            sa.select(orders.c.id, orders.c.request_hash).where(orders.c.idempotency_key == key)
        ).first()
        return None if row is None else (row.id, row.request_hash)

    def adopt_saga_trace(self, session: Session, order_id: uuid.UUID) -> None:
        """Take the saga's trace id (and context) when the request had none of its own."""
        session.execute(
            sa.text(
                f"UPDATE {orders.name} o SET trace_id = s.trace_id, traceparent = s.traceparent "  # noqa: S608 - fixed table names
                f"FROM {SAGA.state_q} s WHERE o.id = :id AND s.id = o.id AND o.trace_id IS NULL"
            ),
            {"id": order_id},
        )

    def get(self, session: Session, order_id: uuid.UUID) -> Order | None:
        """The order, or None."""
        row = session.execute(sa.select(orders).where(orders.c.id == order_id)).first()
        return None if row is None else _order(row)

    def of_customer(self, session: Session, customer_id: uuid.UUID, *, limit: int) -> list[Order]:
        """The customer's orders, newest first."""
        rows = session.execute(
            sa.select(orders)
            .where(orders.c.customer_id == customer_id)
            .order_by(orders.c.created_at.desc(), orders.c.id)
            .limit(limit)
        )
        return [_order(row) for row in rows]

    def price(
        self,
        session: Session,
        order_id: uuid.UUID,
        *,
        lines: Sequence[PricedLine],
        total: int,
        traceparent: str | None,
    ) -> Order | None:
        """Store the priced lines and total of a pending order; the order, or None."""
        row = session.execute(
            orders.update()
            .where(orders.c.id == order_id, orders.c.status == OrderStatus.PENDING.value)
            .values(
                lines=[line.to_json() for line in lines],
                total=total,
                traceparent=traceparent,
                updated_at=_NOW,
            )
            .returning(*orders.c)
        ).first()
        return None if row is None else _order(row)

    def finish(
        self,
        session: Session,
        order_id: uuid.UUID,
        *,
        status: OrderStatus,
        reason: str | None,
        traceparent: str | None,
    ) -> datetime | None:
        """Move a pending order to ``status`` for good; when that happened, or None if the order
        was not pending (so a repeat changes and publishes nothing)."""
        finished: datetime | None = session.execute(
            orders.update()
            .where(orders.c.id == order_id, orders.c.status == OrderStatus.PENDING.value)
            .values(
                status=status.value,
                reason=reason,
                traceparent=traceparent,
                updated_at=_NOW,
                finished_at=_NOW,
            )
            .returning(orders.c.finished_at)
        ).scalar()
        return finished
