"""``kill -9`` of customers and of orders, twice each, while 200 orders are placed over HTTP:
every accepted order ends APPROVED or REJECTED, credit and stock add up exactly (nothing
reserved twice, nothing leaked), and order-history equals what the orders service says."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from eventyard.stack import Stack
from tests.e2e import shop_client as client
from tests.support.eventually import eventually

ORDERS = 200
KILLS = ("customers", "orders", "customers", "orders")  # after 20%, 40%, 60%, 80% accepted


def _accept(shop: Any, body: dict[str, Any], key: str) -> str:
    """POST until the order is accepted; a retry with the same key never makes a second order."""
    deadline = time.monotonic() + 180
    while True:
        try:
            response = shop.http.post(
                shop.url("orders", "/orders"), json=body, headers={"Idempotency-Key": key}
            )
            if response.status_code == 202:
                return str(response.json()["id"])
            assert response.status_code == 503, response.text  # restarting: not ready yet
        except httpx.TransportError:
            pass  # the service was killed mid-request
        assert time.monotonic() < deadline, f"order {key} was never accepted"
        time.sleep(0.2)


@pytest.fixture
def shop(local_stack: Stack, request: pytest.FixtureRequest) -> Any:
    urls = {
        name: request.getfixturevalue(f"{name}_url")
        for name in ("orders", "customers", "inventory", "order_history", "traces")
    }
    shop = client.ShopClient(**urls)
    yield shop
    shop.close()
    local_stack.up(["customers", "orders"])  # whatever happened, leave them running


def test_killing_customers_and_orders_loses_nothing_and_applies_nothing_twice(
    local_stack: Stack, shop: Any
) -> None:
    rng = random.Random(11)
    run = uuid.uuid4().hex[:6]
    customers = [
        shop.customer(f"fault {run} {i}", credit_limit=rng.choice([5_000, 20_000, 60_000]))
        for i in range(6)
    ]
    skus = [
        shop.product(
            f"fault-{run}-{i}", price=rng.choice([100, 700, 1_300]), stock=rng.choice([15, 40, 400])
        )
        for i in range(4)
    ]
    bodies = [
        {
            "customer_id": rng.choice(customers),
            "lines": [
                {"sku": sku, "quantity": rng.randint(1, 4)}
                for sku in rng.sample(skus, rng.randint(1, 2))
            ],
        }
        for _ in range(ORDERS)
    ]
    accepted: dict[str, str] = {}
    lock = threading.Lock()
    killed: list[str] = []

    def place(index: int) -> None:
        order_id = _accept(shop, bodies[index], key=f"fault-{run}-{index}")
        with lock:
            accepted[order_id] = str(index)

    def killer() -> None:
        """One kill at a time: after 20%, 40%, 60% and 80% of the orders were accepted."""
        for n, victim in enumerate(KILLS, start=1):
            while True:
                with lock:
                    if len(accepted) >= n * ORDERS // (len(KILLS) + 1):
                        break
                time.sleep(0.05)
            assert local_stack.kill(victim), f"{victim} was not running"
            killed.append(victim)
            time.sleep(0.5)
            local_stack.up([victim])

    chaos = threading.Thread(target=killer, daemon=True)
    chaos.start()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(place, range(ORDERS)))
    chaos.join(300)

    assert len(accepted) == ORDERS  # the same key never made a second order
    assert killed == list(KILLS), "every planned kill happened"
    orders = {order_id: shop.settled(order_id, timeout_s=300) for order_id in accepted}
    assert {o["status"] for o in orders.values()} <= {"APPROVED", "REJECTED"}
    approved = [o for o in orders.values() if o["status"] == "APPROVED"]
    assert approved, "some orders are approved"
    assert len(approved) < ORDERS, "some orders are rejected (credit and stock run out)"

    credit: dict[str, int] = defaultdict(int)
    units: dict[str, int] = defaultdict(int)
    for order in approved:
        credit[order["customer_id"]] += int(order["total"])
        body = bodies[int(accepted[order["id"]])]
        for line in body["lines"]:
            units[line["sku"]] += int(line["quantity"])
    for customer_id in customers:
        state = shop.get("customers", f"/customers/{customer_id}")
        assert state["credit_reserved"] == credit[customer_id], customer_id
    for sku in skus:
        state = shop.get("inventory", f"/products/{sku}")
        assert state["reserved"] == units[sku], sku

    expected = {
        customer_id: {
            o["id"]: (o["status"], o["total"])
            for o in orders.values()
            if o["customer_id"] == customer_id
        }
        for customer_id in customers
    }

    def history_equal() -> bool | None:
        for customer_id, wanted in expected.items():
            rows = shop.history(customer_id)
            if {r["order_id"]: (r["status"], r["total"]) for r in rows} != wanted:
                return None
        return True

    assert eventually(
        history_equal, timeout=180, description="order-history to equal the orders service"
    )
