import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from eventyard.stack import Endpoints
from eventyard.stack._shop_demo import _steps_line, run_shop_demo

RECORDED = json.loads((Path(__file__).parent / "data" / "jaeger_trace.json").read_text())
ENDPOINTS = Endpoints(
    orders_url="http://orders:1",
    customers_url="http://customers:2",
    inventory_url="http://inventory:3",
    order_history_url="http://history:4",
    traces_url="http://jaeger:5",
)


class FakeShop:
    """The shop's HTTP contract in memory; a saga that decides at once."""

    def __init__(self) -> None:
        self.customers: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.keys: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, host = request.url.path, request.url.host
        if request.method == "POST" and host == "customers" and path == "/customers":
            customer = {"id": str(uuid.uuid4()), **json.loads(request.content)}
            self.customers[customer["id"]] = customer
            return httpx.Response(201, json=customer)
        if request.method == "POST" and host == "inventory" and path == "/products":
            product = json.loads(request.content)
            self.products[product["sku"]] = product
            return httpx.Response(201, json=product)
        if request.method == "POST" and host == "orders" and path == "/orders":
            self.keys.append(request.headers["Idempotency-Key"])
            return self._place(json.loads(request.content))
        if request.method == "GET" and host == "orders" and path.startswith("/orders/"):
            return httpx.Response(200, json=self.orders[path.rsplit("/", 1)[1]])
        return httpx.Response(404)

    def _place(self, body: dict[str, Any]) -> httpx.Response:
        (line,) = body["lines"]
        product, customer = self.products[line["sku"]], self.customers[body["customer_id"]]
        total = product["price"] * line["quantity"]
        steps = [_step("price_order"), _step("record_order")]
        if total > customer["credit_limit"]:
            status, reason = "REJECTED", f"insufficient credit: available 5000, order total {total}"
            steps += [_step("reserve_credit", "FAILED")]
        elif line["quantity"] > product["stock"]:
            status, reason = "REJECTED", f"out of stock: {line['sku']} (requested 2, available 1)"
            steps += [_step("reserve_credit"), _step("reserve_stock", "FAILED")]
            steps += [_step("reserve_credit", phase="compensation")]
        else:
            status, reason = "APPROVED", None
            steps += [_step("reserve_credit"), _step("reserve_stock"), _step("approve_order")]
        order_id = str(uuid.uuid4())
        trace_id = uuid.uuid4().hex
        self.orders[order_id] = {"id": order_id, "customer_id": body["customer_id"],
                                 "status": status, "reason": reason, "total": total,
                                 "trace_id": trace_id, "steps": steps}  # fmt: skip
        return httpx.Response(
            202,
            json={"id": order_id, "status": "PENDING"},
            headers={"traceresponse": f"00-{trace_id}-00f067aa0ba902b7-01"},
        )


def _step(name: str, outcome: str = "SUCCEEDED", phase: str = "action") -> dict[str, Any]:
    """A step-log line as ``GET /orders/{id}`` gives it (dispatches left out)."""
    return {"name": name, "phase": phase, "outcome": outcome, "attempt": 1}


@pytest.fixture
def shop(monkeypatch: pytest.MonkeyPatch) -> FakeShop:
    fake = FakeShop()
    real_client = httpx.Client

    def client(**kwargs: Any) -> httpx.Client:
        return real_client(transport=httpx.MockTransport(fake), **kwargs)

    monkeypatch.setattr("eventyard.stack._shop_demo.httpx.Client", client)
    return fake


def _run(monkeypatch: pytest.MonkeyPatch, traced: list[str]) -> tuple[int, str]:
    def wait_for_trace(traces_url: str, trace_id: str, **_: Any) -> Any:
        traced.append(trace_id)
        return RECORDED["data"][0]

    monkeypatch.setattr("eventyard.stack._shop_demo.wait_for_trace", wait_for_trace)
    console = Console(record=True, width=200, color_system=None)
    code = run_shop_demo(ENDPOINTS, console)
    return code, console.export_text()


def test_the_story_shows_three_outcomes_the_compensated_trace_and_what_next(
    shop: FakeShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    traced: list[str] = []
    code, text = _run(monkeypatch, traced)
    assert code == 0, text
    outcomes = [(o["status"], o["reason"]) for o in shop.orders.values()]
    assert [status for status, _ in outcomes] == ["APPROVED", "REJECTED", "REJECTED"]
    compensated = list(shop.orders.values())[2]
    assert traced == [compensated["trace_id"]]
    for order in shop.orders.values():
        assert order["id"] in text
        assert order["trace_id"] in text
    assert "insufficient credit" in text
    assert "out of stock" in text
    assert "↩" in text  # the compensation (the steps cell folds; its line is tested below)
    assert "trace 5b8efff798038103d269b633813fc60c" in text  # the waterfall
    assert "curl -s -X POST http://orders:1/orders" in text
    assert f"eventyard-stack trace {compensated['id']}" in text
    assert "eventyard-stack down" in text


def test_a_second_run_seeds_new_names_and_keys(
    shop: FakeShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _run(monkeypatch, [])[0] == 0
    assert _run(monkeypatch, [])[0] == 0
    assert len(shop.products) == 4
    assert len({c["name"] for c in shop.customers.values()}) == 4
    assert len(set(shop.keys)) == 6


def test_an_unexpected_outcome_fails_the_demo(
    shop: FakeShop, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = FakeShop._place

    def approve_everything(self: FakeShop, body: dict[str, Any]) -> httpx.Response:
        response = place(self, body)
        self.orders[response.json()["id"]].update(status="APPROVED", reason=None)
        return response

    monkeypatch.setattr(FakeShop, "_place", approve_everything)
    code, text = _run(monkeypatch, [])
    assert code == 1
    assert "expected REJECTED, got APPROVED" in text


def test_without_the_services_it_says_what_is_missing() -> None:
    console = Console(record=True, width=200, color_system=None)
    code = run_shop_demo(Endpoints(traces_url="http://jaeger:5"), console)
    assert code == 1
    assert "needs orders, customers, inventory running" in console.export_text()


def test_the_steps_line_marks_ends_and_compensations_and_skips_dispatches() -> None:
    steps = [
        {**_step("price_order"), "outcome": "DISPATCHED"},
        _step("price_order"),
        _step("reserve_credit"),
        _step("reserve_stock", "FAILED"),
        _step("reserve_credit", phase="compensation"),
    ]
    line = _steps_line(steps).replace("\u00a0", " ")
    assert line == "price_order ✓ → reserve_credit ✓ → reserve_stock ✗ → ↩ reserve_credit"
