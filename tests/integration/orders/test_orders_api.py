"""The order API on a fresh database: one transaction for the order and its saga, idempotency,
and the shapes of the reads (no relay or orchestrator running)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from eventyard_orders import Orders


def _order(customer: uuid.UUID | None = None, **quantities: int) -> dict[str, Any]:
    lines = [{"sku": sku, "quantity": n} for sku, n in (quantities or {"apple": 2}).items()]
    return {"customer_id": str(customer or uuid.uuid4()), "lines": lines}


def _count(db: sa.Engine, query: str, **params: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.text(query), params).scalar_one())


def test_an_order_and_its_saga_start_in_one_transaction(booted: TestClient, db: sa.Engine) -> None:
    body = _order(apple=2, pear=1)
    response = booted.post("/orders", json=body)
    assert response.status_code == 202
    placed = response.json()
    assert placed == {"id": placed["id"], "status": "PENDING"}
    assert response.headers["Location"] == f"/orders/{placed['id']}"
    with db.connect() as conn:
        order = conn.execute(sa.text("SELECT * FROM orders")).one()
        saga = conn.execute(sa.text("SELECT * FROM saga_state")).one()
        command = conn.execute(sa.text("SELECT * FROM outbox")).one()
    assert (str(order.id), str(order.customer_id), order.status) == (
        placed["id"],
        body["customer_id"],
        "PENDING",
    )
    assert order.lines == body["lines"]
    assert (order.total, order.reason, order.finished_at) == (None, None, None)
    assert (str(saga.id), saga.type, saga.sagastatus, saga.currentstep) == (
        placed["id"],
        "order",
        "RUNNING",
        "price_order",
    )
    assert order.trace_id is not None
    assert order.trace_id == saga.trace_id
    assert (command.aggregatetype, command.type) == ("inventory.commands", "PriceOrder")


def test_when_the_saga_cannot_start_there_is_no_order(
    orders: Orders, booted: TestClient, db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> uuid.UUID:
        raise RuntimeError("the orchestrator fell over")

    monkeypatch.setattr(orders.orchestrator, "start", broken)
    client = TestClient(booted.app, raise_server_exceptions=False)
    assert client.post("/orders", json=_order()).status_code == 500
    assert _count(db, "SELECT count(*) FROM orders") == 0
    assert _count(db, "SELECT count(*) FROM outbox") == 0


def test_the_same_key_and_body_is_the_same_order(booted: TestClient, db: sa.Engine) -> None:
    body = _order(apple=1)
    first = booted.post("/orders", json=body, headers={"Idempotency-Key": "k-1"})
    again = booted.post("/orders", json=body, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(db, "SELECT count(*) FROM orders") == 1
    assert _count(db, "SELECT count(*) FROM saga_state") == 1


def test_the_same_key_with_another_body_is_a_conflict(booted: TestClient, db: sa.Engine) -> None:
    body = _order(apple=1)
    first = booted.post("/orders", json=body, headers={"Idempotency-Key": "k-2"})
    other = booted.post(
        "/orders",
        json=body | {"lines": [{"sku": "apple", "quantity": 2}]},
        headers={"Idempotency-Key": "k-2"},
    )
    assert other.status_code == 409
    assert other.json()["order_id"] == first.json()["id"]
    assert _count(db, "SELECT count(*) FROM orders") == 1


def test_orders_without_a_key_are_distinct(booted: TestClient, db: sa.Engine) -> None:
    body = _order(apple=1)
    ids = {booted.post("/orders", json=body).json()["id"] for _ in range(2)}
    assert len(ids) == 2
    assert _count(db, "SELECT count(*) FROM saga_state") == 2


def test_concurrent_requests_with_one_key_make_one_order(booted: TestClient, db: sa.Engine) -> None:
    body = _order(pear=3)
    answers: list[Any] = []
    start = threading.Barrier(8)

    def place() -> None:
        start.wait()
        answers.append(booted.post("/orders", json=body, headers={"Idempotency-Key": "k-3"}))

    threads = [threading.Thread(target=place) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
    assert _count(db, "SELECT count(*) FROM orders") == 1
    assert _count(db, "SELECT count(*) FROM saga_state") == 1


def test_an_order_reads_back_with_its_steps(booted: TestClient) -> None:
    customer = uuid.uuid4()
    placed = booted.post("/orders", json=_order(customer, apple=2)).json()
    got = booted.get(f"/orders/{placed['id']}")
    assert got.status_code == 200
    order = got.json()
    assert set(order) == {"id", "customer_id", "status", "reason", "total", "trace_id", "steps"}
    assert (order["id"], order["customer_id"], order["status"]) == (
        placed["id"],
        str(customer),
        "PENDING",
    )
    assert (order["reason"], order["total"]) == (None, None)
    assert len(order["trace_id"]) == 32
    step = order["steps"][0]
    assert set(step) == {"name", "phase", "outcome", "attempt", "command", "detail", "at"}
    assert (step["name"], step["phase"], step["outcome"], step["command"]) == (
        "price_order",
        "action",
        "DISPATCHED",
        "PriceOrder",
    )


def test_a_customers_orders_are_listed_newest_first(booted: TestClient) -> None:
    customer = uuid.uuid4()
    ids = [booted.post("/orders", json=_order(customer, apple=n)).json()["id"] for n in (1, 2)]
    booted.post("/orders", json=_order(apple=3))  # someone else's
    listed = booted.get("/orders", params={"customer_id": str(customer)})
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()] == list(reversed(ids))
    assert set(listed.json()[0]) == {"id", "customer_id", "status", "reason", "total", "trace_id"}
    assert booted.get("/orders", params={"customer_id": str(uuid.uuid4())}).json() == []


def test_an_unknown_order_is_a_404(booted: TestClient) -> None:
    assert booted.get(f"/orders/{uuid.uuid4()}").status_code == 404
