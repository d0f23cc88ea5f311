"""The order saga: price, record, reserve credit, reserve stock (the pivot), approve.

::

    price_order     inventory PriceOrder           no compensation (it changes nothing)
    record_order    local: total in, OrderCreated  no compensation
    reserve_credit  customers ReserveCredit        compensated by ReleaseCredit
    reserve_stock   inventory ReserveStock (pivot) compensated by ReleaseStock
    approve_order   local: APPROVED, OrderApproved retried until it succeeds

When the saga compensates, the order becomes ``REJECTED`` with the failing step's reason and
``OrderRejected`` is published. The saga's id is the order's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

import sqlalchemy as sa
from opentelemetry import context as otel_context
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from eventyard.outbox import Event, Publisher
from eventyard.saga import Backoff, Command, Local, RetryPolicy, SagaDefinition, Step
from eventyard.telemetry import current_traceparent
from eventyard_orders.domain import events
from eventyard_orders.domain.model import OrderStatus, PricedLine
from eventyard_orders.domain.rejection import rejection_of
from eventyard_orders.service_layer.ports import OrderRepository, SagaLog

__all__ = ["SAGA_NAME", "OrderSagaData", "SagaLine", "SagaTiming", "order_saga"]

SAGA_NAME: Final = "order"


class SagaLine(BaseModel):
    """A line as commands carry it; ``unit_price`` (cents) once priced."""

    sku: str
    quantity: int
    unit_price: int | None = None


class OrderSagaData(BaseModel):
    """What the saga carries from step to step."""

    order_id: uuid.UUID
    customer_id: uuid.UUID
    lines: list[SagaLine]
    priced: list[SagaLine] = Field(default_factory=list)
    total: int | None = None
    reservation_id: str | None = None


class _Priced(BaseModel):
    lines: list[SagaLine]
    total: int = Field(ge=0)


@dataclass(frozen=True, kw_only=True)
class SagaTiming:
    """How long a participant's step waits for each reply, and how often it is tried.

    ``local_attempts`` is for ``record_order``, which needs the schema registry (the first
    time an event type is published).
    """

    deadline: timedelta = timedelta(seconds=10)
    attempts: int = 3
    local_attempts: int = 10
    backoff: Backoff = field(default_factory=lambda: Backoff(maximum=timedelta(seconds=5)))


def _lines(data: OrderSagaData) -> list[dict[str, Any]]:
    return [{"sku": line.sku, "quantity": line.quantity} for line in data.lines]


def _price_payload(data: OrderSagaData) -> dict[str, Any]:
    return {"order_id": str(data.order_id), "lines": _lines(data)}


def _credit_payload(data: OrderSagaData) -> dict[str, Any]:
    return {
        "order_id": str(data.order_id),
        "customer_id": str(data.customer_id),
        "amount": data.total,
    }


def _stock_payload(data: OrderSagaData) -> dict[str, Any]:
    return {"order_id": str(data.order_id), "lines": _lines(data)}


def _remember_prices(data: OrderSagaData, reply: Mapping[str, Any]) -> OrderSagaData:
    priced = _Priced.model_validate(dict(reply))
    return data.model_copy(update={"priced": priced.lines, "total": priced.total})


def _remember_reservation(data: OrderSagaData, reply: Mapping[str, Any]) -> OrderSagaData:
    reservation = reply.get("reservation_id")
    return data.model_copy(
        update={"reservation_id": None if reservation is None else str(reservation)}
    )


def _event(order_id: uuid.UUID, event_type: str, payload: dict[str, Any]) -> Event:
    # One id per order and type: a consumer's inbox drops a repeat however it came about.
    return Event(
        aggregate_type=events.AGGREGATE_TYPE,
        aggregate_id=str(order_id),
        type=event_type,
        payload=payload,
        id=uuid.uuid5(order_id, event_type),
    )


def order_saga(
    *,
    orders: OrderRepository,
    outbox: Publisher,
    saga_log: SagaLog,
    timing: SagaTiming | None = None,
) -> SagaDefinition[OrderSagaData]:
    """The order saga, its local steps writing through ``orders`` and ``outbox``."""
    local = _LocalSteps(orders=orders, outbox=outbox, saga_log=saga_log)
    return SagaDefinition(
        name=SAGA_NAME,
        version=1,
        data=OrderSagaData,
        steps=_steps(local, timing or SagaTiming()),
        on_compensated=local.reject_order,
    )


def _steps(local: _LocalSteps, t: SagaTiming) -> list[Step[OrderSagaData]]:
    """The five steps, in order (see the module's docstring)."""
    retry = RetryPolicy(max_attempts=t.attempts, backoff=t.backoff)
    # Releasing credit or stock must happen however long a participant is away.
    undo = RetryPolicy(max_attempts=None, backoff=t.backoff)
    return [
        Step(
            name="price_order",
            action=Command(participant="inventory", name="PriceOrder", payload=_price_payload),
            on_reply=_remember_prices,
            retry=retry,
            deadline=t.deadline,
        ),
        Step(
            name="record_order",
            action=Local(run=local.record_order),
            retry=RetryPolicy(max_attempts=t.local_attempts, backoff=t.backoff),
        ),
        Step(
            name="reserve_credit",
            action=Command(participant="customers", name="ReserveCredit", payload=_credit_payload),
            compensation=Command(
                participant="customers", name="ReleaseCredit", payload=_credit_payload
            ),
            compensation_retry=undo,
            on_reply=_remember_reservation,
            retry=retry,
            deadline=t.deadline,
        ),
        Step(
            name="reserve_stock",
            action=Command(participant="inventory", name="ReserveStock", payload=_stock_payload),
            compensation=Command(
                participant="inventory", name="ReleaseStock", payload=_stock_payload
            ),
            compensation_retry=undo,
            pivot=True,
            retry=retry,
            deadline=t.deadline,
        ),
        Step(
            name="approve_order",
            action=Local(run=local.approve_order),
            retry=RetryPolicy(max_attempts=None, backoff=t.backoff),
        ),
    ]


@dataclass(frozen=True, kw_only=True, eq=False)
class _LocalSteps:
    """The saga's local transactions and its compensation hook, writing through ``orders`` and
    ``outbox``. The step log shows each local step under its method's name. Compared and
    hashed by identity, as the closures it replaces were."""

    orders: OrderRepository
    outbox: Publisher
    saga_log: SagaLog

    def record_order(self, session: Session, data: OrderSagaData) -> None:
        lines = [
            PricedLine(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price or 0)
            for line in data.priced
        ]
        total = data.total or 0
        order = self.orders.price(
            session, data.order_id, lines=lines, total=total, traceparent=current_traceparent()
        )
        if order is not None:
            payload = events.order_created(
                order_id=order.id,
                customer_id=order.customer_id,
                lines=lines,
                total=total,
                created_at=order.created_at,
            )
            self.outbox.publish(session, _event(order.id, events.ORDER_CREATED, payload))

    def approve_order(self, session: Session, data: OrderSagaData) -> None:
        approved_at = self.orders.finish(
            session,
            data.order_id,
            status=OrderStatus.APPROVED,
            reason=None,
            traceparent=current_traceparent(),
        )
        if approved_at is not None:
            payload = events.order_approved(order_id=data.order_id, approved_at=approved_at)
            self.outbox.publish(session, _event(data.order_id, events.ORDER_APPROVED, payload))

    def reject_order(self, session: Session, data: OrderSagaData) -> None:
        # The hook is not told why the saga compensated; the step log is, and its last lines
        # are written after the hook in the same transaction: so reject just before commit,
        # in the context of the span that ended the saga.
        context = otel_context.get_current()
        order_id = data.order_id

        def reject(session: Session) -> None:
            token = otel_context.attach(context)
            try:
                self._reject(session, order_id)
            finally:
                otel_context.detach(token)

        sa.event.listen(session, "before_commit", reject, once=True)

    def _reject(self, session: Session, order_id: uuid.UUID) -> None:
        """Mark the order ``REJECTED`` with its failure's reason, if the saga compensated."""
        if not self.saga_log.compensated(session, order_id):
            return
        rejection = rejection_of(self.saga_log.failure(session, order_id))
        rejected_at = self.orders.finish(
            session,
            order_id,
            status=OrderStatus.REJECTED,
            reason=rejection.reason,
            traceparent=current_traceparent(),
        )
        if rejected_at is not None:
            payload = events.order_rejected(
                order_id=order_id, rejection=rejection, rejected_at=rejected_at
            )
            self.outbox.publish(session, _event(order_id, events.ORDER_REJECTED, payload))
