"""The reference shop end to end: three orders (approved, rejected for credit, compensated after
the stock step failed) through the four services, their state through every API and the read
model, and each order as one unbroken trace in the trace backend."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.shop_client import Placed, ShopClient, Span
from tests.support.eventually import eventually

SERVICES = ("orders", "customers", "inventory", "order-history")


@dataclass(frozen=True)
class Story:
    rich: str
    poor: str
    plenty: str
    scarce: str
    approved: Placed
    credit: Placed
    compensated: Placed


@pytest.fixture(scope="module")
def story(shop: ShopClient) -> Story:
    run = uuid.uuid4().hex[:6]
    rich = shop.customer(f"Ada {run}", credit_limit=100_000)
    poor = shop.customer(f"Bob {run}", credit_limit=1_000)
    plenty = shop.product("kettle", price=1_500, stock=100)
    scarce = shop.product("teapot", price=500, stock=1)
    story = Story(
        rich=rich,
        poor=poor,
        plenty=plenty,
        scarce=scarce,
        approved=shop.place(rich, [(plenty, 2)]),
        credit=shop.place(poor, [(plenty, 2)]),
        compensated=shop.place(rich, [(scarce, 5)]),
    )
    for placed in (story.approved, story.credit, story.compensated):
        shop.settled(placed.id)
    return story


def test_every_service_is_live_and_ready(shop: ShopClient) -> None:
    for service in SERVICES:
        assert shop.get(service, "/healthz")["status"] == "ok"
        ready = shop.get(service, "/readyz")
        assert ready["status"] == "ready", ready


def test_the_three_orders_end_as_the_story_says(shop: ShopClient, story: Story) -> None:
    approved = shop.order(story.approved.id)
    assert approved["status"] == "APPROVED"
    assert approved["total"] == 3_000
    assert approved["customer_id"] == story.rich
    assert approved["trace_id"] == story.approved.trace_id

    credit = shop.order(story.credit.id)
    assert credit["status"] == "REJECTED"
    assert "credit" in credit["reason"]

    compensated = shop.order(story.compensated.id)
    assert compensated["status"] == "REJECTED"
    assert "stock" in compensated["reason"]
    assert compensated["total"] == 2_500
    steps = [str(step) for step in compensated["steps"]]
    assert any("reserve_credit" in s and "compensat" in s.lower() for s in steps), steps


def test_credit_and_stock_hold_only_what_approved_orders_hold(
    shop: ShopClient, story: Story
) -> None:
    rich = shop.get("customers", f"/customers/{story.rich}")
    assert rich["credit_reserved"] == 3_000  # the compensated order released its 2,500
    assert rich["credit_available"] == 97_000
    assert shop.get("customers", f"/customers/{story.poor}")["credit_reserved"] == 0
    plenty = shop.get("inventory", f"/products/{story.plenty}")
    assert (plenty["stock"], plenty["reserved"]) == (100, 2)
    scarce = shop.get("inventory", f"/products/{story.scarce}")
    assert (scarce["stock"], scarce["reserved"]) == (1, 0)


def test_order_history_shows_each_customers_orders(shop: ShopClient, story: Story) -> None:
    def rows() -> list[dict[str, object]] | None:
        found = shop.history(story.rich)
        statuses = {r["order_id"]: r["status"] for r in found}
        wanted = {story.approved.id: "APPROVED", story.compensated.id: "REJECTED"}
        return found if statuses == wanted else None

    caught_up = eventually(rows, timeout=120, description="order-history to catch up")
    history = {r["order_id"]: r for r in caught_up}
    assert history[story.approved.id]["total"] == 3_000
    assert str(history[story.approved.id]["customer_name"]).startswith("Ada ")
    assert history[story.compensated.id]["total"] == 2_500


def test_sku_statistics_count_approved_units(shop: ShopClient, story: Story) -> None:
    def units() -> int | None:
        response = shop.http.get(shop.url("order-history", "/stats/skus"))
        response.raise_for_status()
        counted = sum(int(r["units"]) for r in response.json() if r["sku"] == story.plenty)
        return counted or None

    assert eventually(units, timeout=120, description="the SKU statistics") == 2


def _one_tree(spans: list[Span]) -> Span:
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id is None]
    assert len(roots) == 1, [(s.service, s.name) for s in roots]
    orphans = [(s.service, s.name) for s in spans if s.parent_id and s.parent_id not in ids]
    assert not orphans, orphans
    return roots[0]


def _services(spans: list[Span]) -> set[str]:
    return {s.service for s in spans}


def test_the_approved_order_is_one_trace_across_every_service(
    shop: ShopClient, story: Story
) -> None:
    spans = shop.trace_with(
        story.approved.trace_id, lambda spans: set(SERVICES) <= _services(spans)
    )
    root = _one_tree(spans)
    assert root.service == "orders"
    assert root.name.startswith("POST /orders")
    assert any(s.service == "order-history" and s.name.startswith("apply") for s in spans)


def test_the_compensated_order_trace_holds_its_compensation(shop: ShopClient, story: Story) -> None:
    def complete(spans: list[Span]) -> bool:
        return {"orders", "customers", "inventory"} <= _services(spans) and any(
            "compensate" in s.name for s in spans
        )

    spans = shop.trace_with(story.compensated.trace_id, complete)
    _one_tree(spans)
    assert any(s.name == "saga.compensate reserve_credit" for s in spans)
    assert any(s.service == "customers" and "commands" in s.name for s in spans)


def test_the_credit_rejection_is_one_trace(shop: ShopClient, story: Story) -> None:
    spans = shop.trace_with(
        story.credit.trace_id, lambda spans: {"orders", "customers"} <= _services(spans)
    )
    assert _one_tree(spans).service == "orders"


# ---------------------------------------------------------------------------- bad input


def test_a_malformed_order_is_422_with_field_errors(shop: ShopClient) -> None:
    response = shop.http.post(
        shop.url("orders", "/orders"),
        json={"customer_id": "not-a-uuid", "lines": [{"sku": "x", "quantity": 0}]},
    )
    assert response.status_code == 422
    fields = {tuple(str(p) for p in e["loc"]) for e in response.json()["detail"]}
    assert ("body", "customer_id") in fields
    assert ("body", "lines", "0", "quantity") in fields


def test_unknown_customer_and_sku_reject_the_order(shop: ShopClient, story: Story) -> None:
    stranger = shop.place(str(uuid.uuid4()), [(story.plenty, 1)])
    assert "unknown customer" in shop.settled(stranger.id)["reason"]
    nothing = shop.place(story.rich, [("no-such-sku", 1)])
    assert "unknown sku" in shop.settled(nothing.id)["reason"]


def test_an_idempotency_key_gives_the_same_order_or_409(shop: ShopClient, story: Story) -> None:
    key = uuid.uuid4().hex
    first = shop.place(story.rich, [(story.plenty, 1)], key=key)
    again = shop.place(story.rich, [(story.plenty, 1)], key=key)
    assert again.id == first.id
    other = shop.http.post(
        shop.url("orders", "/orders"),
        json={"customer_id": story.rich, "lines": [{"sku": story.plenty, "quantity": 2}]},
        headers={"Idempotency-Key": key},
    )
    assert other.status_code == 409
    shop.settled(first.id)


def test_a_body_over_the_limit_is_413(shop: ShopClient, story: Story) -> None:
    lines = [{"sku": story.plenty, "quantity": 1}] * 20_000
    response = shop.http.post(
        shop.url("orders", "/orders"), json={"customer_id": story.rich, "lines": lines}
    )
    assert response.status_code == 413


def test_unknown_order_is_404(shop: ShopClient) -> None:
    response = shop.http.get(shop.url("orders", f"/orders/{uuid.uuid4()}"))
    assert response.status_code == 404
    with pytest.raises(httpx.HTTPStatusError):
        response.raise_for_status()
