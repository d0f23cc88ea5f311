"""The order saga end to end on the real stack: orchestrator, customers and inventory processes."""

from __future__ import annotations

from typing import Any


def test_orders_complete_with_credit_and_stock_reserved_once(shop_env: Any, shop: Any) -> None:
    env = shop_env()
    orders = [
        shop.OrderData(
            order_id=f"o-{i}",
            customer_id="alice" if i % 2 else "bob",
            sku="apple",
            qty=1 + i % 3,
            total=10 * (i + 1),
        )
        for i in range(20)
    ]
    ids = [env.shop.place(order) for order in orders]
    env.wait(lambda: env.shop.statuses().get("COMPLETED", 0) == 20, "20 completed sagas")
    assert env.shop.scalar("SELECT count(*) FROM orders.orders WHERE status = 'APPROVED'") == 20
    reserved = env.shop.scalar("SELECT sum(reserved) FROM customers.customer")
    assert reserved == sum(o.total for o in orders)
    taken = env.shop.scalar("SELECT sum(initial - available) FROM inventory.stock")
    assert taken == sum(o.qty for o in orders)
    # The step log of one saga, in order.
    lines = env.log_lines(ids[0])
    assert [(r.step, r.phase, r.outcome) for r in lines] == [
        (None, None, "STARTED"),
        ("reserve_credit", "action", "DISPATCHED"),
        ("reserve_credit", "action", "SUCCEEDED"),
        ("reserve_stock", "action", "DISPATCHED"),
        ("reserve_stock", "action", "SUCCEEDED"),
        ("approve_order", "action", "DISPATCHED"),
        ("approve_order", "action", "SUCCEEDED"),
        (None, None, "COMPLETED"),
    ]
    assert len({r.trace_id for r in lines}) == 1
    assert lines[0].trace_id is not None
    data = env.shop.scalar("SELECT payload FROM orders.saga_state WHERE id = :id", id=ids[0])
    assert data["reservation_id"]
