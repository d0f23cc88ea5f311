"""The payloads of ``OrderCreated``, ``OrderApproved`` and ``OrderRejected`` (Avro records).

Amounts are integer cents in the service and ``decimal(12, 2)`` on the wire; times are
timezone-aware and become ``timestamp-micros``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from eventyard_orders.domain.model import PricedLine
from eventyard_orders.domain.rejection import Rejection

__all__ = [
    "AGGREGATE_TYPE",
    "ORDER_APPROVED",
    "ORDER_CREATED",
    "ORDER_REJECTED",
    "SUBJECTS",
    "money",
    "order_approved",
    "order_created",
    "order_rejected",
]

#: The outbox aggregate type of order events (topic ``<prefix>.orders.events``).
AGGREGATE_TYPE: Final = "orders.events"
ORDER_CREATED: Final = "OrderCreated"
ORDER_APPROVED: Final = "OrderApproved"
ORDER_REJECTED: Final = "OrderRejected"
#: Event type -> registry subject (RecordNameStrategy: the record's full name).
SUBJECTS: Final = {
    name: f"eventyard.orders.{name}" for name in (ORDER_CREATED, ORDER_APPROVED, ORDER_REJECTED)
}


def money(cents: int) -> Decimal:
    """Cents as the ``decimal(12, 2)`` the contracts use."""
    return Decimal(cents).scaleb(-2)


def order_created(
    *,
    order_id: uuid.UUID,
    customer_id: uuid.UUID,
    lines: Sequence[PricedLine],
    total: int,
    created_at: datetime,
) -> dict[str, Any]:
    """``OrderCreated``: the order, priced."""
    return {
        "order_id": str(order_id),
        "customer_id": str(customer_id),
        "lines": [
            {"sku": line.sku, "quantity": line.quantity, "unit_price": money(line.unit_price)}
            for line in lines
        ],
        "total": money(total),
        "currency": "EUR",
        "created_at": created_at,
    }


def order_approved(*, order_id: uuid.UUID, approved_at: datetime) -> dict[str, Any]:
    """``OrderApproved``: credit and stock are reserved."""
    return {"order_id": str(order_id), "approved_at": approved_at}


def order_rejected(
    *, order_id: uuid.UUID, rejection: Rejection, rejected_at: datetime
) -> dict[str, Any]:
    """``OrderRejected``: the saga compensated; ``detail`` is the reason text."""
    return {
        "order_id": str(order_id),
        "reason": rejection.code.value,
        "detail": rejection.reason,
        "rejected_at": rejected_at,
    }
