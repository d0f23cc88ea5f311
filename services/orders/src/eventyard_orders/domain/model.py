"""Orders as values: status, lines, and the order as the service reads it back."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

__all__ = ["MAX_LINES", "Order", "OrderLine", "OrderStatus", "PricedLine"]

#: The most lines one order may have.
MAX_LINES: Final = 100


class OrderStatus(StrEnum):
    """``PENDING`` while the saga runs; then ``APPROVED`` or ``REJECTED`` for good."""

    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderLine:
    """A SKU and how many units of it the customer asks for."""

    sku: str
    quantity: int

    def to_json(self) -> dict[str, str | int]:
        """The line as stored and sent in commands."""
        return {"sku": self.sku, "quantity": self.quantity}


@dataclass(frozen=True, kw_only=True, slots=True)
class PricedLine:
    """A line with the unit price inventory quoted, in cents."""

    sku: str
    quantity: int
    unit_price: int

    def to_json(self) -> dict[str, str | int]:
        """The line as stored once the order is priced."""
        return {"sku": self.sku, "quantity": self.quantity, "unit_price": self.unit_price}


@dataclass(frozen=True, kw_only=True, slots=True)
class Order:
    """An order as stored: ``total`` (cents) is None until the order is priced."""

    id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    reason: str | None
    total: int | None
    lines: tuple[OrderLine | PricedLine, ...]
    trace_id: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
