"""PriceOrder, ReserveStock and ReleaseStock through the real Participant on a real database:
prices are read-only, reservations are all-or-nothing and taken once, a release gives back
exactly what the order holds, refusals say why."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from eventyard.saga import ReplyOutcome
from eventyard_inventory.service_layer.handlers import add_product, release_stock
from tests.integration.service.participant_fixtures import Command, Handle, stored_trace_ids, traced


@pytest.fixture(autouse=True)
def products(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        add_product(session, sku="LAMP", name="Desk lamp", price=4_500, stock=10)
        add_product(session, sku="VASE", name="Blue vase", price=12_000, stock=1)


def lines(**units: int) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": quantity} for sku, quantity in units.items()]


def stock(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """Units on hand and reserved per SKU, and what each order holds."""
    with sessions() as session:
        products = session.execute(sa.text("SELECT sku, stock, reserved FROM products")).all()
        held = session.execute(
            sa.text("SELECT order_id, sku, quantity FROM stock_reservations ORDER BY sku")
        ).all()
    return {
        "products": {p.sku: (p.stock, p.reserved) for p in products},
        "held": {(h.order_id, h.sku): h.quantity for h in held},
    }


def test_pricing_prices_each_line_and_changes_nothing(
    sessions: sessionmaker[Session], handle: Handle, command: Command
) -> None:
    before = stock(sessions)
    reply = handle(
        command(
            "PriceOrder",
            saga_id=uuid.uuid4(),
            step="price_order",
            order_id=uuid.uuid4(),
            lines=lines(LAMP=2, VASE=1),
        )
    )
    assert reply.outcome is ReplyOutcome.SUCCESS
    assert dict(reply.data) == {
        "lines": [
            {"sku": "LAMP", "quantity": 2, "unit_price": 4_500},
            {"sku": "VASE", "quantity": 1, "unit_price": 12_000},
        ],
        "total": 21_000,
    }
    assert stock(sessions) == before


@pytest.mark.parametrize(
    ("order_lines", "reason"),
    [(lines(LAMP=1, GHOST=2), "unknown sku GHOST"), ([], "no lines")],
    ids=["unknown-sku", "no-lines"],
)
def test_pricing_refuses_an_unknown_sku_or_no_lines(
    handle: Handle, command: Command, order_lines: list[dict[str, Any]], reason: str
) -> None:
    reply = handle(
        command(
            "PriceOrder",
            saga_id=uuid.uuid4(),
            step="price_order",
            order_id=uuid.uuid4(),
            lines=order_lines,
        )
    )
    assert (reply.outcome, reply.reason) == (ReplyOutcome.FAILURE, reason)


def test_a_reservation_holds_every_line(
    sessions: sessionmaker[Session], handle: Handle, command: Command
) -> None:
    order = uuid.uuid4()
    reply = handle(
        command("ReserveStock", saga_id=uuid.uuid4(), order_id=order, lines=lines(LAMP=3, VASE=1))
    )
    assert (reply.outcome, dict(reply.data)) == (
        ReplyOutcome.SUCCESS,
        {"lines": lines(LAMP=3, VASE=1)},
    )
    assert stock(sessions) == {
        "products": {"LAMP": (10, 3), "VASE": (1, 1)},
        "held": {(order, "LAMP"): 3, (order, "VASE"): 1},
    }


def test_the_rows_it_changes_keep_the_handling_span_traceparent(
    sessions: sessionmaker[Session], handle: Handle, command: Command
) -> None:
    order = uuid.uuid4()
    trace_id = traced(
        handle, command("ReserveStock", saga_id=uuid.uuid4(), order_id=order, lines=lines(LAMP=1))
    )
    assert stored_trace_ids(
        sessions,
        "SELECT p.traceparent, r.traceparent FROM products p "
        "JOIN stock_reservations r ON r.sku = p.sku WHERE r.order_id = :order",
        order=order,
    ) == {trace_id}


def test_one_line_out_of_stock_refuses_the_whole_order(
    sessions: sessionmaker[Session], handle: Handle, command: Command
) -> None:
    handle(
        command("ReserveStock", saga_id=uuid.uuid4(), order_id=uuid.uuid4(), lines=lines(VASE=1))
    )
    before = stock(sessions)
    reply = handle(
        command(
            "ReserveStock", saga_id=uuid.uuid4(), order_id=uuid.uuid4(), lines=lines(LAMP=2, VASE=1)
        )
    )
    assert (reply.outcome, reply.reason) == (
        ReplyOutcome.FAILURE,
        "out of stock: VASE (requested 1, available 0)",
    )
    assert stock(sessions) == before


def test_a_repeated_reservation_does_not_hold_twice(
    sessions: sessionmaker[Session], handle: Handle, command: Command
) -> None:
    saga, order = uuid.uuid4(), uuid.uuid4()
    first = handle(command("ReserveStock", saga_id=saga, order_id=order, lines=lines(LAMP=4)))
    again = handle(command("ReserveStock", saga_id=saga, order_id=order, lines=lines(LAMP=4)))
    retried = handle(
        command("ReserveStock", saga_id=saga, attempt=2, order_id=order, lines=lines(LAMP=4))
    )
    other_saga = handle(
        command("ReserveStock", saga_id=uuid.uuid4(), order_id=order, lines=lines(LAMP=4))
    )
    assert first.data == again.data == retried.data == other_saga.data
    assert stock(sessions) == {
        "products": {"LAMP": (10, 4), "VASE": (1, 0)},
        "held": {(order, "LAMP"): 4},
    }


def test_a_release_gives_back_what_the_order_held_once(
    sessions: sessionmaker[Session], handle: Handle, command: Command
) -> None:
    saga, released, kept = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    handle(command("ReserveStock", saga_id=saga, order_id=released, lines=lines(LAMP=3, VASE=1)))
    handle(command("ReserveStock", saga_id=uuid.uuid4(), order_id=kept, lines=lines(LAMP=2)))
    undo = {"order_id": released, "lines": lines(LAMP=3, VASE=1)}
    first = handle(command("ReleaseStock", saga_id=saga, **undo))
    again = handle(command("ReleaseStock", saga_id=saga, attempt=2, **undo))
    assert (first.outcome, dict(first.data)) == (
        ReplyOutcome.SUCCESS,
        {"lines": lines(LAMP=3, VASE=1)},
    )
    assert again.outcome is ReplyOutcome.SUCCESS
    with sessions.begin() as session:  # the handler itself: nothing left to give back
        assert release_stock(session, order_id=released) == []
    assert stock(sessions) == {
        "products": {"LAMP": (10, 2), "VASE": (1, 0)},
        "held": {(kept, "LAMP"): 2},
    }


def test_a_release_without_a_reservation_succeeds_and_changes_nothing(
    sessions: sessionmaker[Session], handle: Handle, command: Command
) -> None:
    handle(
        command("ReserveStock", saga_id=uuid.uuid4(), order_id=uuid.uuid4(), lines=lines(LAMP=1))
    )
    before = stock(sessions)
    reply = handle(
        command("ReleaseStock", saga_id=uuid.uuid4(), order_id=uuid.uuid4(), lines=lines(LAMP=1))
    )
    assert reply.outcome is ReplyOutcome.SUCCESS
    assert stock(sessions) == before


def test_an_unknown_sku_is_refused_by_name(
    sessions: sessionmaker[Session], handle: Handle, command: Command
) -> None:
    before = stock(sessions)
    reply = handle(
        command(
            "ReserveStock",
            saga_id=uuid.uuid4(),
            order_id=uuid.uuid4(),
            lines=lines(LAMP=1, GHOST=1),
        )
    )
    assert (reply.outcome, reply.reason) == (ReplyOutcome.FAILURE, "unknown sku GHOST")
    assert stock(sessions) == before


def test_a_malformed_command_is_refused_not_retried(handle: Handle, command: Command) -> None:
    reply = handle(
        command("ReserveStock", saga_id=uuid.uuid4(), order_id=uuid.uuid4(), lines=lines(LAMP=0))
    )
    assert reply.outcome is ReplyOutcome.FAILURE
    assert reply.reason is not None
    assert reply.reason.startswith("invalid ReserveStock")


def test_concurrent_orders_never_hold_more_than_is_on_hand(
    sessions: sessionmaker[Session], handle: Handle, command: Command
) -> None:
    orders = [uuid.uuid4() for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(
            pool.map(
                lambda order: handle(
                    command(
                        "ReserveStock", saga_id=uuid.uuid4(), order_id=order, lines=lines(LAMP=3)
                    )
                ),
                orders,
            )
        )
    assert sorted(r.outcome.value for r in replies) == ["failure"] * 5 + ["success"] * 3
    assert stock(sessions)["products"]["LAMP"] == (10, 9)
