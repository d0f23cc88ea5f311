"""Placing and reading orders.

An order and the start of its saga are one transaction: the order exists if and only if its
saga (and the saga's first command, in the outbox) does.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from eventyard.saga import LogOutcome, Orchestrator, SagaAdmin, SagaDefinition, UnknownSaga
from eventyard.telemetry import current_traceparent, trace_id_of
from eventyard_orders.domain.errors import IdempotencyConflict, OrderNotFound
from eventyard_orders.domain.idempotency import request_hash
from eventyard_orders.domain.model import Order, OrderLine, OrderStatus
from eventyard_orders.service_layer.ports import OrderRepository
from eventyard_orders.service_layer.saga import OrderSagaData, SagaLine

__all__ = ["OrderDetails", "OrderService", "PlaceOrder", "Placed", "StepRecord"]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlaceOrder:
    """A validated order request."""

    customer_id: uuid.UUID
    lines: tuple[OrderLine, ...]
    idempotency_key: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Placed:
    """The placed order; ``replayed`` when the idempotency key named an earlier one."""

    order_id: uuid.UUID
    status: OrderStatus
    replayed: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class StepRecord:
    """A line of the saga's step log, as the API shows it."""

    name: str
    phase: str | None
    outcome: str
    attempt: int | None
    command: str | None
    detail: str | None
    at: datetime | None


@dataclass(frozen=True, kw_only=True, slots=True)
class OrderDetails:
    """An order and its saga's steps so far."""

    order: Order
    steps: tuple[StepRecord, ...]


class OrderService:
    """The use cases, on ``sessions`` (a sessionmaker of the service's database)."""

    def __init__(
        self,
        *,
        sessions: Callable[[], Session],
        orders: OrderRepository,
        orchestrator: Orchestrator,
        saga: SagaDefinition[OrderSagaData],
        admin: SagaAdmin,
    ) -> None:
        self._sessions = sessions
        self._orders = orders
        self._orchestrator = orchestrator
        self._saga = saga
        self._admin = admin

    def place(self, request: PlaceOrder) -> Placed:
        """Store a pending order and start its saga in one transaction.

        Raises :class:`IdempotencyConflict` when the key names an order of another request.
        """
        fingerprint = request_hash(request.customer_id, request.lines)
        order_id = uuid.uuid4()
        traceparent = current_traceparent()
        with self._sessions() as session, session.begin():
            added = self._orders.add(
                session,
                order_id=order_id,
                customer_id=request.customer_id,
                lines=request.lines,
                idempotency_key=request.idempotency_key,
                request_hash=fingerprint,
                traceparent=traceparent,
                trace_id=trace_id_of(traceparent),
            )
            if not added:
                return self._replay(session, request, fingerprint)
            data = OrderSagaData(
                order_id=order_id,
                customer_id=request.customer_id,
                lines=[SagaLine(sku=line.sku, quantity=line.quantity) for line in request.lines],
            )
            self._orchestrator.start(session, self._saga, data, saga_id=order_id)
            if traceparent is None:
                self._orders.adopt_saga_trace(session, order_id)
        return Placed(order_id=order_id, status=OrderStatus.PENDING, replayed=False)

    def _replay(self, session: Session, request: PlaceOrder, fingerprint: str) -> Placed:
        key = request.idempotency_key
        found = None if key is None else self._orders.by_key(session, key)
        if key is None or found is None:
            raise RuntimeError("an order without an idempotency key was not inserted")
        order_id, earlier = found
        if earlier != fingerprint:
            raise IdempotencyConflict(key, order_id)
        order = self._orders.get(session, order_id)
        status = OrderStatus.PENDING if order is None else order.status
        return Placed(order_id=order_id, status=status, replayed=True)

    def get(self, order_id: uuid.UUID) -> OrderDetails:
        """The order and its steps; :class:`OrderNotFound` when there is none."""
        with self._sessions() as session:
            order = self._orders.get(session, order_id)
        if order is None:
            raise OrderNotFound(order_id)
        try:
            log = self._admin.log(order_id)
        except UnknownSaga:
            log = []
        steps = tuple(
            StepRecord(
                name=entry.step,
                phase=None if entry.phase is None else entry.phase.value,
                outcome=entry.outcome.value,
                attempt=entry.attempt,
                command=entry.command,
                detail=entry.detail,
                at=entry.at,
            )
            for entry in log
            if entry.step is not None and entry.outcome != LogOutcome.IGNORED
        )
        return OrderDetails(order=order, steps=steps)

    def of_customer(self, customer_id: uuid.UUID, *, limit: int) -> list[Order]:
        """The customer's orders, newest first."""
        with self._sessions() as session:
            return self._orders.of_customer(session, customer_id, limit=limit)
