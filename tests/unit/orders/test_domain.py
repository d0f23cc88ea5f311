"""Pure order logic: the idempotency fingerprint, rejections and event payloads."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventyard_orders.contracts import schema
from eventyard_orders.domain import events
from eventyard_orders.domain.idempotency import request_hash
from eventyard_orders.domain.model import OrderLine, PricedLine
from eventyard_orders.domain.rejection import (
    Failure,
    Rejection,
    RejectionReason,
    rejection_of,
)

CUSTOMER = uuid.UUID("6f1c2d9e-0b7a-4c3e-9d5f-2a8b1c4e7f60")
ORDER = uuid.UUID("0e8f3a21-5c4d-4b6a-8f7e-1d2c3b4a5968")
LINES = (OrderLine(sku="apple", quantity=2), OrderLine(sku="pear", quantity=1))

lines = st.lists(
    st.builds(
        OrderLine,
        sku=st.text(min_size=1, max_size=8),
        quantity=st.integers(min_value=1, max_value=1000),
    ),
    min_size=1,
    max_size=5,
)


@given(customer=st.uuids(), ordered=lines)
def test_the_same_request_has_the_same_fingerprint(customer: uuid.UUID, ordered: Any) -> None:
    copy = [OrderLine(sku=line.sku, quantity=line.quantity) for line in ordered]
    assert request_hash(customer, ordered) == request_hash(customer, copy)


@pytest.mark.parametrize(
    ("customer", "ordered"),
    [
        (uuid.UUID(int=1), LINES),
        (CUSTOMER, (OrderLine(sku="apple", quantity=3), LINES[1])),
        (CUSTOMER, (OrderLine(sku="plum", quantity=2), LINES[1])),
        (CUSTOMER, tuple(reversed(LINES))),
        (CUSTOMER, LINES[:1]),
    ],
    ids=["customer", "quantity", "sku", "line order", "fewer lines"],
)
def test_a_different_request_has_another_fingerprint(
    customer: uuid.UUID, ordered: tuple[OrderLine, ...]
) -> None:
    assert request_hash(customer, ordered) != request_hash(CUSTOMER, LINES)


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            Failure(
                step="reserve_credit",
                outcome="FAILED",
                detail="insufficient credit: available 100, order total 250",
            ),
            Rejection(
                code=RejectionReason.INSUFFICIENT_CREDIT,
                reason="insufficient credit: available 100, order total 250",
            ),
        ),
        (
            Failure(
                step="reserve_stock",
                outcome="FAILED",
                detail="out of stock: apple (requested 5, available 2)",
            ),
            Rejection(
                code=RejectionReason.OUT_OF_STOCK,
                reason="out of stock: apple (requested 5, available 2)",
            ),
        ),
        (
            Failure(step="price_order", outcome="FAILED", detail="unknown sku kiwi"),
            Rejection(code=RejectionReason.UNKNOWN, reason="unknown sku kiwi"),
        ),
        (
            Failure(step="reserve_credit", outcome="FAILED", detail=f"unknown customer {CUSTOMER}"),
            Rejection(code=RejectionReason.UNKNOWN, reason=f"unknown customer {CUSTOMER}"),
        ),
        (
            Failure(
                step="reserve_credit", outcome="GAVE_UP", detail="no reply before the deadline"
            ),
            Rejection(
                code=RejectionReason.TIMED_OUT,
                reason="timed out: reserve_credit got no reply before the deadline",
            ),
        ),
        (
            Failure(step="record_order", outcome="GAVE_UP", detail="OperationalError: gone"),
            Rejection(
                code=RejectionReason.UNKNOWN, reason="record_order gave up: OperationalError: gone"
            ),
        ),
        (
            Failure(step="reserve_credit", outcome="ABORTED", detail="customer cancelled"),
            Rejection(code=RejectionReason.UNKNOWN, reason="customer cancelled"),
        ),
        (None, Rejection(code=RejectionReason.UNKNOWN, reason="rejected")),
    ],
    ids=["credit", "stock", "sku", "customer", "timeout", "gave up", "aborted", "nothing"],
)
def test_a_failure_maps_to_its_rejection(failure: Failure | None, expected: Rejection) -> None:
    assert rejection_of(failure) == expected


def test_the_rejection_codes_are_the_contract_enum() -> None:
    contract = json.loads(schema(events.SUBJECTS[events.ORDER_REJECTED]))
    (reason,) = [f for f in contract["fields"] if f["name"] == "reason"]
    assert [c.value for c in RejectionReason] == reason["type"]["symbols"]


def test_money_is_two_decimal_places() -> None:
    assert events.money(12345) == Decimal("123.45")
    assert events.money(0).as_tuple().exponent == -2


def _round_trip(event_type: str, payload: dict[str, Any]) -> dict[str, Any]:
    parsed = fastavro.parse_schema(json.loads(schema(events.SUBJECTS[event_type])))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, payload)
    buffer.seek(0)
    decoded: dict[str, Any] = fastavro.schemaless_reader(buffer, parsed)  # type: ignore[assignment]
    return decoded  # uuid fields come back as UUID, decimals as Decimal


AT = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def test_order_created_fits_its_contract() -> None:
    priced = [PricedLine(sku="apple", quantity=2, unit_price=150)]
    payload = events.order_created(
        order_id=ORDER, customer_id=CUSTOMER, lines=priced, total=300, created_at=AT
    )
    decoded = _round_trip(events.ORDER_CREATED, payload)
    assert decoded == {
        "order_id": ORDER,
        "customer_id": CUSTOMER,
        "lines": [{"sku": "apple", "quantity": 2, "unit_price": Decimal("1.50")}],
        "total": Decimal("3.00"),
        "currency": "EUR",
        "created_at": AT,
    }


def test_order_approved_fits_its_contract() -> None:
    payload = events.order_approved(order_id=ORDER, approved_at=AT)
    assert _round_trip(events.ORDER_APPROVED, payload) == {
        "order_id": ORDER,
        "approved_at": AT,
    }


def test_order_rejected_fits_its_contract() -> None:
    rejection = Rejection(code=RejectionReason.OUT_OF_STOCK, reason="out of stock: apple")
    payload = events.order_rejected(order_id=ORDER, rejection=rejection, rejected_at=AT)
    assert _round_trip(events.ORDER_REJECTED, payload) == {
        "order_id": ORDER,
        "reason": "OUT_OF_STOCK",
        "detail": "out of stock: apple",
        "rejected_at": AT,
    }
