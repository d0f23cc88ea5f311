"""The order saga in memory: steps, payloads, compensations, the order's end and its events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from eventyard.outbox import JsonSerializer, Outbox
from eventyard.outbox.testing import InMemoryOutbox
from eventyard.saga import LogOutcome, Phase, SagaStatus
from eventyard.saga.testing import InMemorySagaRuntime, reject
from eventyard_orders.domain.model import Order, OrderLine, OrderStatus, PricedLine
from eventyard_orders.domain.rejection import Failure
from eventyard_orders.service_layer.saga import OrderSagaData, SagaLine, SagaTiming, order_saga

CUSTOMER = uuid.uuid4()
PRICES = {"apple": 150, "pear": 80}


class FakeOrders:
    """Orders in a dict, as the repository keeps them."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Order] = {}
        self.clock = datetime(2030, 1, 1, tzinfo=UTC)

    def place(self, order_id: uuid.UUID, lines: Sequence[OrderLine]) -> None:
        self.rows[order_id] = Order(
            id=order_id,
            customer_id=CUSTOMER,
            status=OrderStatus.PENDING,
            reason=None,
            total=None,
            lines=tuple(lines),
            trace_id=None,
            created_at=self.clock,
            updated_at=self.clock,
            finished_at=None,
        )

    def _change(self, order_id: uuid.UUID, **values: Any) -> Order | None:
        order = self.rows[order_id]
        if order.status is not OrderStatus.PENDING:
            return None
        fields = {name: getattr(order, name) for name in Order.__slots__}
        self.rows[order_id] = changed = Order(**(fields | values))
        return changed

    def price(
        self,
        session: Session,
        order_id: uuid.UUID,
        *,
        lines: Sequence[PricedLine],
        total: int,
        traceparent: str | None,
    ) -> Order | None:
        return self._change(order_id, lines=tuple(lines), total=total)

    def finish(
        self,
        session: Session,
        order_id: uuid.UUID,
        *,
        status: OrderStatus,
        reason: str | None,
        traceparent: str | None,
    ) -> datetime | None:
        changed = self._change(order_id, status=status, reason=reason, finished_at=self.clock)
        return None if changed is None else self.clock


class RuntimeSagaLog:
    """The saga log as the in-memory runtime keeps it."""

    runtime: InMemorySagaRuntime

    def compensated(self, session: Session, saga_id: uuid.UUID) -> bool:
        return self.runtime.status(saga_id) is SagaStatus.COMPENSATED

    def failure(self, session: Session, saga_id: uuid.UUID) -> Failure | None:
        failed = [
            entry
            for entry in self.runtime.log(saga_id)
            if entry.outcome in (LogOutcome.FAILED, LogOutcome.GAVE_UP, LogOutcome.ABORTED)
            and entry.phase in (None, Phase.ACTION)
        ]
        if not failed:
            return None
        last = failed[-1]
        return Failure(step=last.step, outcome=last.outcome.value, detail=last.detail)


class Shop:
    """The saga with fake orders, an in-memory outbox and runtime, one session."""

    def __init__(self) -> None:
        self.orders = FakeOrders()
        self.outbox = InMemoryOutbox(outbox=Outbox(serializer=JsonSerializer(default=str)))
        log = RuntimeSagaLog()
        self.saga = order_saga(
            orders=self.orders,  # type: ignore[arg-type]  # only what the saga uses
            outbox=self.outbox,
            saga_log=log,
            timing=SagaTiming(deadline=timedelta(seconds=5), attempts=2),
        )
        self.session = Session()
        self.runtime = InMemorySagaRuntime([self.saga], session=lambda: self.session)
        log.runtime = self.runtime
        self.runtime.respond("inventory", "PriceOrder", self._price)
        self.runtime.respond("customers", "ReserveCredit", lambda c: {"reservation_id": "r-1"})
        self.runtime.respond("customers", "ReleaseCredit", lambda c: None)
        self.runtime.respond("inventory", "ReserveStock", lambda c: None)
        self.runtime.respond("inventory", "ReleaseStock", lambda c: None)

    @staticmethod
    def _price(command: Any) -> dict[str, Any]:
        lines = [dict(line, unit_price=PRICES[line["sku"]]) for line in command.payload["lines"]]
        return {"lines": lines, "total": sum(x["unit_price"] * x["quantity"] for x in lines)}

    def place(self, **quantities: int) -> uuid.UUID:
        order_id = uuid.uuid4()
        lines = [OrderLine(sku=sku, quantity=n) for sku, n in quantities.items()]
        self.orders.place(order_id, lines)
        data = OrderSagaData(
            order_id=order_id,
            customer_id=CUSTOMER,
            lines=[SagaLine(sku=line.sku, quantity=line.quantity) for line in lines],
        )
        self.runtime.start(self.saga, data, saga_id=order_id)
        return order_id

    def finish(self) -> None:
        """Deliver every command, fire due timers, then commit (as the orchestrator does)."""
        self.runtime.settle()
        if not self.session.in_transaction():
            self.session.begin()
        self.session.commit()

    def commands(self) -> list[tuple[str, dict[str, Any]]]:
        return [(c.envelope.name, dict(c.envelope.payload)) for c in self.runtime.sent]

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        return [(e["type"], e["payload"]) for e in self.outbox.events()]


@pytest.fixture
def shop() -> Shop:
    return Shop()


def test_an_order_with_credit_and_stock_is_approved(shop: Shop) -> None:
    order_id = shop.place(apple=2, pear=1)
    shop.finish()
    assert shop.runtime.status(order_id) is SagaStatus.COMPLETED
    lines = [{"sku": "apple", "quantity": 2}, {"sku": "pear", "quantity": 1}]
    credit = {"order_id": str(order_id), "customer_id": str(CUSTOMER), "amount": 380}
    assert shop.commands() == [
        ("PriceOrder", {"order_id": str(order_id), "lines": lines}),
        ("ReserveCredit", credit),
        ("ReserveStock", {"order_id": str(order_id), "lines": lines}),
    ]
    order = shop.orders.rows[order_id]
    assert (order.status, order.total, order.reason) == (OrderStatus.APPROVED, 380, None)
    assert order.lines == (
        PricedLine(sku="apple", quantity=2, unit_price=150),
        PricedLine(sku="pear", quantity=1, unit_price=80),
    )
    assert [t for t, _ in shop.events()] == ["OrderCreated", "OrderApproved"]
    created = shop.events()[0][1]
    assert (created["total"], created["lines"][0]["unit_price"]) == ("3.80", "1.50")
    assert shop.runtime.data(order_id, OrderSagaData).reservation_id == "r-1"


def test_out_of_stock_releases_the_credit_and_rejects_the_order(shop: Shop) -> None:
    why = "out of stock: apple (requested 2, available 1)"
    shop.runtime.respond("inventory", "ReserveStock", reject(why))
    order_id = shop.place(apple=2)
    shop.finish()
    assert shop.runtime.status(order_id) is SagaStatus.COMPENSATED
    names = [name for name, _ in shop.commands()]
    assert names == ["PriceOrder", "ReserveCredit", "ReserveStock", "ReleaseCredit"]
    assert shop.commands()[3][1] == shop.commands()[1][1]
    order = shop.orders.rows[order_id]
    assert (order.status, order.reason, order.total) == (OrderStatus.REJECTED, why, 300)
    assert [t for t, _ in shop.events()] == ["OrderCreated", "OrderRejected"]
    rejected = shop.events()[1][1]
    assert (rejected["reason"], rejected["detail"]) == ("OUT_OF_STOCK", why)


def test_an_unknown_sku_rejects_the_order_before_anything_is_reserved(shop: Shop) -> None:
    shop.runtime.respond("inventory", "PriceOrder", reject("unknown sku kiwi"))
    order_id = shop.place(kiwi=1)
    shop.finish()
    assert [name for name, _ in shop.commands()] == ["PriceOrder"]
    order = shop.orders.rows[order_id]
    assert (order.status, order.reason, order.total) == (
        OrderStatus.REJECTED,
        "unknown sku kiwi",
        None,
    )
    assert shop.events() == [
        (
            "OrderRejected",
            {
                "order_id": str(order_id),
                "reason": "UNKNOWN",
                "detail": "unknown sku kiwi",
                "rejected_at": str(shop.orders.clock),
            },
        )
    ]


def test_insufficient_credit_is_its_own_reason(shop: Shop) -> None:
    why = "insufficient credit: available 100, order total 300"
    shop.runtime.respond("customers", "ReserveCredit", reject(why))
    order_id = shop.place(apple=2)
    shop.finish()
    assert [name for name, _ in shop.commands()] == ["PriceOrder", "ReserveCredit"]
    assert shop.orders.rows[order_id].reason == why
    assert shop.events()[-1][1]["reason"] == "INSUFFICIENT_CREDIT"


def test_a_silent_participant_times_the_order_out_and_is_compensated(shop: Shop) -> None:
    shop.runtime.silence("customers", "ReserveCredit")
    order_id = shop.place(pear=1)
    shop.finish()
    names = [name for name, _ in shop.commands()]
    assert names == ["PriceOrder", "ReserveCredit", "ReserveCredit", "ReleaseCredit"]
    order = shop.orders.rows[order_id]
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "timed out: reserve_credit got no reply before the deadline"
    assert shop.events()[-1][1]["reason"] == "TIMED_OUT"


def test_a_rejection_is_published_once_however_often_the_session_commits(shop: Shop) -> None:
    shop.runtime.respond("inventory", "PriceOrder", reject("unknown sku kiwi"))
    shop.place(kiwi=1)
    shop.finish()
    shop.finish()
    assert [t for t, _ in shop.events()] == ["OrderRejected"]
