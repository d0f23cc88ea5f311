"""Request and response bodies of the HTTP API (JSON; amounts in integer cents)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eventyard_orders.domain.model import MAX_LINES, Order, OrderStatus
from eventyard_orders.service_layer.orders import OrderDetails, StepRecord

__all__ = ["LineIn", "OrderIn", "OrderOut", "OrderSummaryOut", "PlacedOut", "StepOut"]


class LineIn(BaseModel):
    """One line of an order: a SKU and a whole number of units (at least 1)."""

    model_config = ConfigDict(extra="forbid")

    sku: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\S+$")]
    quantity: Annotated[int, Field(strict=True, ge=1, le=1_000_000)]


class OrderIn(BaseModel):
    """``POST /orders``: a customer and 1 to 100 lines, each SKU once."""

    model_config = ConfigDict(extra="forbid")

    customer_id: uuid.UUID
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]

    @field_validator("lines")
    @classmethod
    def _one_line_per_sku(cls, lines: list[LineIn]) -> list[LineIn]:
        seen: set[str] = set()
        for line in lines:
            if line.sku in seen:
                raise ValueError(f"sku {line.sku!r} appears in more than one line")
            seen.add(line.sku)
        return lines


class PlacedOut(BaseModel):
    """``202`` to ``POST /orders``."""

    id: uuid.UUID
    status: OrderStatus


class StepOut(BaseModel):
    """A line of the order saga's step log."""

    name: str
    phase: str | None
    outcome: str
    attempt: int | None
    command: str | None
    detail: str | None
    at: datetime | None

    @classmethod
    def of(cls, step: StepRecord) -> StepOut:
        return cls(
            name=step.name,
            phase=step.phase,
            outcome=step.outcome,
            attempt=step.attempt,
            command=step.command,
            detail=step.detail,
            at=step.at,
        )


class OrderSummaryOut(BaseModel):
    """An order in ``GET /orders?customer_id=``."""

    id: uuid.UUID
    customer_id: uuid.UUID
    status: OrderStatus
    reason: str | None
    total: int | None
    trace_id: str | None

    @classmethod
    def of(cls, order: Order) -> OrderSummaryOut:
        return cls(
            id=order.id,
            customer_id=order.customer_id,
            status=order.status,
            reason=order.reason,
            total=order.total,
            trace_id=order.trace_id,
        )


class OrderOut(OrderSummaryOut):
    """``GET /orders/{id}``: the order and its saga's steps so far."""

    steps: list[StepOut]

    @classmethod
    def of_details(cls, details: OrderDetails) -> OrderOut:
        summary = OrderSummaryOut.of(details.order)
        return cls(**summary.model_dump(), steps=[StepOut.of(s) for s in details.steps])
