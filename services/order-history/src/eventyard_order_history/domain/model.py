"""What order-history answers: a customer's orders, units ordered per SKU per minute."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

__all__ = ["CustomerOrder", "SkuMinute"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerOrder:
    """One order of a customer, as the read model holds it (``customer_name`` is None until the
    customer's row has arrived: the two tables are not ordered against each other)."""

    order_id: UUID
    customer_name: str | None
    status: str
    total: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SkuMinute:
    """Units of ``sku`` in orders approved during the minute starting at ``minute`` (UTC)."""

    sku: str
    minute: datetime
    units: int
