"""The order saga end to end on the real stack: the service's relay and orchestrator, real
participants with tiny handlers, and the order events in Avro through the registry."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from confluent_kafka import Message
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eventyard.telemetry import configure
from tests.integration.orders.ledger import Ledger

Consume = Callable[..., list[Message]]


def _place(client: TestClient, customer: uuid.UUID, **quantities: int) -> str:
    lines = [{"sku": sku, "quantity": n} for sku, n in quantities.items()]
    response = client.post("/orders", json={"customer_id": str(customer), "lines": lines})
    assert response.status_code == 202, response.text
    order_id: str = response.json()["id"]
    return order_id


def _settled(client: TestClient, order_id: str) -> dict[str, Any]:
    """The order once it is APPROVED or REJECTED (the test's timeout bounds the wait)."""
    while True:
        order: dict[str, Any] = client.get(f"/orders/{order_id}").json()
        if order["status"] != "PENDING":
            return order
        time.sleep(0.1)


def _events(consume: Consume, topic: str, count: int, registry_url: str) -> list[tuple[str, Any]]:
    registry = SchemaRegistryClient({"url": registry_url})
    decode = AvroDeserializer(registry)
    found = []
    for message in consume(topic, count):
        value = message.value()
        assert value is not None
        assert value[0] == 0  # Confluent wire format: magic byte, then the schema id
        headers = dict(message.headers() or [])
        event = decode(value, SerializationContext(topic, MessageField.VALUE))
        event["order_id"] = str(event["order_id"])  # uuid logical type: decoded as UUID
        event_type = headers["eventType"]
        assert isinstance(event_type, bytes)
        found.append((event_type.decode(), event))
    return found


def test_an_order_is_approved_and_its_events_are_avro(
    running: tuple[TestClient, Ledger],
    prefix: str,
    consume: Consume,
    registry_url: str,
    db: sa.Engine,
) -> None:
    client, ledger = running
    customer = uuid.uuid4()
    ledger.prices.update(apple=150, pear=80)
    ledger.stock.update(apple=10, pear=10)
    ledger.credit[str(customer)] = 1000
    order_id = _place(client, customer, apple=2, pear=1)
    order = _settled(client, order_id)
    assert (order["status"], order["reason"], order["total"]) == ("APPROVED", None, 380)
    assert (ledger.credit[str(customer)], ledger.stock) == (620, {"apple": 8, "pear": 9})
    succeeded = [s["name"] for s in order["steps"] if s["outcome"] == "SUCCEEDED"]
    assert succeeded == [
        "price_order",
        "record_order",
        "reserve_credit",
        "reserve_stock",
        "approve_order",
    ]
    events = _events(consume, f"{prefix}.orders.events", 2, registry_url)
    assert [name for name, _ in events] == ["OrderCreated", "OrderApproved"]
    created, approved = events[0][1], events[1][1]
    assert (created["order_id"], str(created["customer_id"])) == (order_id, str(customer))
    assert [(x["sku"], x["quantity"], str(x["unit_price"])) for x in created["lines"]] == [
        ("apple", 2, "1.50"),
        ("pear", 1, "0.80"),
    ]
    assert str(created["total"]) == "3.80"
    assert approved["order_id"] == order_id
    registry = SchemaRegistryClient({"url": registry_url})
    for subject in ("eventyard.orders.OrderCreated", "eventyard.orders.OrderApproved"):
        assert registry.get_latest_version(subject).schema_id is not None
    with db.connect() as conn:
        row = conn.execute(
            sa.text("SELECT traceparent, trace_id, finished_at, updated_at FROM orders")
        ).one()
    assert row.finished_at is not None
    assert row.updated_at == row.finished_at
    assert row.traceparent.split("-")[1] == row.trace_id == order["trace_id"]


def test_rejections_carry_the_participants_reasons(
    running: tuple[TestClient, Ledger],
    prefix: str,
    consume: Consume,
    registry_url: str,
) -> None:
    client, ledger = running
    rich, poor, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    ledger.prices.update(apple=150)
    ledger.stock.update(apple=1)
    ledger.credit.update({str(rich): 10_000, str(poor): 100})
    unknown_sku = _place(client, rich, kiwi=1)
    unknown_customer = _place(client, stranger, apple=1)
    no_credit = _place(client, poor, apple=1)
    no_stock = _place(client, rich, apple=2)
    expected = {
        unknown_sku: "unknown sku kiwi",
        unknown_customer: f"unknown customer {stranger}",
        no_credit: "insufficient credit: available 100, order total 150",
        no_stock: "out of stock: apple (requested 2, available 1)",
    }
    for order_id, reason in expected.items():
        order = _settled(client, order_id)
        assert (order["status"], order["reason"]) == ("REJECTED", reason)
    compensated = _settled(client, no_stock)["steps"]
    assert [(s["name"], s["outcome"]) for s in compensated if s["phase"] == "compensation"] == [
        ("reserve_credit", "DISPATCHED"),
        ("reserve_credit", "SUCCEEDED"),
    ]
    assert ledger.credit[str(rich)] == 10_000  # the credit reserved for no_stock came back
    assert ledger.stock == {"apple": 1}
    events = _events(consume, f"{prefix}.orders.events", 7, registry_url)
    rejected = {
        e["order_id"]: (e["reason"], e["detail"]) for t, e in events if t == "OrderRejected"
    }
    assert rejected == {
        unknown_sku: ("UNKNOWN", expected[unknown_sku]),
        unknown_customer: ("UNKNOWN", expected[unknown_customer]),
        no_credit: ("INSUFFICIENT_CREDIT", expected[no_credit]),
        no_stock: ("OUT_OF_STOCK", expected[no_stock]),
    }
    created = sorted(e["order_id"] for t, e in events if t == "OrderCreated")
    assert created == sorted([unknown_customer, no_credit, no_stock])


def test_the_request_and_the_saga_are_one_trace(
    spans: InMemorySpanExporter, running: tuple[TestClient, Ledger], db: sa.Engine
) -> None:
    client, ledger = running
    customer = uuid.uuid4()
    ledger.prices["apple"] = 100
    ledger.stock["apple"] = 1
    ledger.credit[str(customer)] = 100
    response = client.post(
        "/orders", json={"customer_id": str(customer), "lines": [{"sku": "apple", "quantity": 1}]}
    )
    trace_id = response.headers["traceresponse"].split("-")[1]
    order = _settled(client, response.json()["id"])
    assert (order["status"], order["trace_id"]) == ("APPROVED", trace_id)
    with db.connect() as conn:
        traceparent = conn.execute(sa.text("SELECT traceparent FROM orders")).scalar_one()
    assert traceparent.split("-")[1] == trace_id
    assert configure(service_name="orders").force_flush()  # the handle the fixture configured
    names = {s.name for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == trace_id}
    assert {
        "POST /orders",
        "saga order",
        "saga.step price_order",
        "saga.step approve_order",
    } <= names
