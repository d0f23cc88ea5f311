"""ReserveCredit and ReleaseCredit through the real Participant on a real database: each
takes effect once, a release gives back exactly what the order holds, refusals say why."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from eventyard.saga import ReplyOutcome
from eventyard_customers.service_layer.handlers import open_customer, release_credit
from tests.integration.service.participant_fixtures import Command, Handle, stored_trace_ids, traced


@pytest.fixture
def ada(sessions: sessionmaker[Session]) -> uuid.UUID:
    with sessions.begin() as session:
        return open_customer(session, name="Ada", credit_limit=10_000).id


def credit(sessions: sessionmaker[Session], customer_id: uuid.UUID) -> dict[str, Any]:
    """The customer's row and the reservations it holds."""
    with sessions() as session:
        row = session.execute(
            sa.text("SELECT credit_limit, credit_reserved FROM customers WHERE id = :id"),
            {"id": customer_id},
        ).one()
        held = session.execute(
            sa.text("SELECT order_id, amount FROM credit_reservations WHERE customer_id = :id"),
            {"id": customer_id},
        ).all()
    return {"reserved": row.credit_reserved, "held": {r.order_id: r.amount for r in held}}


def test_a_reservation_holds_the_amount_and_names_the_order(
    sessions: sessionmaker[Session], handle: Handle, command: Command, ada: uuid.UUID
) -> None:
    order = uuid.uuid4()
    reply = handle(
        command(
            "ReserveCredit", saga_id=uuid.uuid4(), order_id=order, customer_id=ada, amount=4_000
        )
    )
    assert (reply.outcome, dict(reply.data)) == (
        ReplyOutcome.SUCCESS,
        {"reservation_id": str(order)},
    )
    assert credit(sessions, ada) == {"reserved": 4_000, "held": {order: 4_000}}


def test_the_rows_it_changes_keep_the_handling_span_traceparent(
    sessions: sessionmaker[Session], handle: Handle, command: Command, ada: uuid.UUID
) -> None:
    order = uuid.uuid4()
    trace_id = traced(
        handle,
        command("ReserveCredit", saga_id=uuid.uuid4(), order_id=order, customer_id=ada, amount=1),
    )
    assert stored_trace_ids(
        sessions,
        "SELECT c.traceparent, r.traceparent FROM customers c "
        "JOIN credit_reservations r ON r.customer_id = c.id WHERE r.order_id = :order",
        order=order,
    ) == {trace_id}


def test_a_repeated_command_replays_the_reply_without_reserving_twice(
    sessions: sessionmaker[Session], handle: Handle, command: Command, ada: uuid.UUID
) -> None:
    saga, order = uuid.uuid4(), uuid.uuid4()
    reserve = {"order_id": order, "customer_id": ada, "amount": 3_000}
    first = handle(command("ReserveCredit", saga_id=saga, **reserve))
    again = handle(command("ReserveCredit", saga_id=saga, **reserve))  # redelivered
    retried = handle(
        command("ReserveCredit", saga_id=saga, attempt=2, **reserve)
    )  # after a timeout
    assert first.data == again.data == retried.data
    assert credit(sessions, ada) == {"reserved": 3_000, "held": {order: 3_000}}


def test_an_order_holds_one_reservation_whichever_saga_asks(
    sessions: sessionmaker[Session], handle: Handle, command: Command, ada: uuid.UUID
) -> None:
    order = uuid.uuid4()
    for _ in range(2):
        reply = handle(
            command(
                "ReserveCredit", saga_id=uuid.uuid4(), order_id=order, customer_id=ada, amount=2_500
            )
        )
        assert reply.outcome is ReplyOutcome.SUCCESS
    assert credit(sessions, ada) == {"reserved": 2_500, "held": {order: 2_500}}


def test_a_release_gives_back_what_the_order_held_once(
    sessions: sessionmaker[Session], handle: Handle, command: Command, ada: uuid.UUID
) -> None:
    saga, released, kept = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    reserve = {"order_id": released, "customer_id": ada, "amount": 6_000}
    handle(command("ReserveCredit", saga_id=saga, **reserve))
    handle(
        command("ReserveCredit", saga_id=uuid.uuid4(), order_id=kept, customer_id=ada, amount=1_000)
    )
    first = handle(command("ReleaseCredit", saga_id=saga, **reserve))
    again = handle(command("ReleaseCredit", saga_id=saga, attempt=2, **reserve))
    assert (first.outcome, dict(first.data)) == (ReplyOutcome.SUCCESS, {"released": 6_000})
    assert again.outcome is ReplyOutcome.SUCCESS
    assert credit(sessions, ada) == {"reserved": 1_000, "held": {kept: 1_000}}


def test_a_release_without_a_reservation_succeeds_and_changes_nothing(
    sessions: sessionmaker[Session], handle: Handle, command: Command, ada: uuid.UUID
) -> None:
    handle(
        command(
            "ReserveCredit",
            saga_id=uuid.uuid4(),
            order_id=uuid.uuid4(),
            customer_id=ada,
            amount=500,
        )
    )
    never = uuid.uuid4()
    reply = handle(
        command("ReleaseCredit", saga_id=uuid.uuid4(), order_id=never, customer_id=ada, amount=500)
    )
    assert reply.outcome is ReplyOutcome.SUCCESS
    with sessions.begin() as session:  # the handler itself, not only the participant's shortcut
        assert release_credit(session, order_id=never) is None
    assert credit(sessions, ada)["reserved"] == 500


def test_credit_over_the_available_amount_is_refused_and_holds_nothing(
    sessions: sessionmaker[Session], handle: Handle, command: Command, ada: uuid.UUID
) -> None:
    handle(
        command(
            "ReserveCredit",
            saga_id=uuid.uuid4(),
            order_id=uuid.uuid4(),
            customer_id=ada,
            amount=7_000,
        )
    )
    saga, order = uuid.uuid4(), uuid.uuid4()
    reply = handle(
        command("ReserveCredit", saga_id=saga, order_id=order, customer_id=ada, amount=3_001)
    )
    assert (reply.outcome, reply.reason) == (
        ReplyOutcome.FAILURE,
        "insufficient credit: available 3000, order total 3001",
    )
    undo = handle(
        command("ReleaseCredit", saga_id=saga, order_id=order, customer_id=ada, amount=3_001)
    )
    assert undo.outcome is ReplyOutcome.SUCCESS
    assert credit(sessions, ada)["reserved"] == 7_000


def test_an_unknown_customer_is_refused_by_name(handle: Handle, command: Command) -> None:
    stranger = uuid.uuid4()
    reply = handle(
        command(
            "ReserveCredit",
            saga_id=uuid.uuid4(),
            order_id=uuid.uuid4(),
            customer_id=stranger,
            amount=1,
        )
    )
    assert (reply.outcome, reply.reason) == (ReplyOutcome.FAILURE, f"unknown customer {stranger}")


def test_a_malformed_command_is_refused_not_retried(handle: Handle, command: Command) -> None:
    reply = handle(command("ReserveCredit", saga_id=uuid.uuid4(), order_id="o-1", amount=-5))
    assert reply.outcome is ReplyOutcome.FAILURE
    assert reply.reason is not None
    assert reply.reason.startswith("invalid ReserveCredit")


def test_concurrent_orders_never_reserve_over_the_limit(
    sessions: sessionmaker[Session], handle: Handle, command: Command, ada: uuid.UUID
) -> None:
    orders = [uuid.uuid4() for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(
            pool.map(
                lambda order: handle(
                    command(
                        "ReserveCredit",
                        saga_id=uuid.uuid4(),
                        order_id=order,
                        customer_id=ada,
                        amount=3_000,
                    )
                ),
                orders,
            )
        )
    assert sorted(r.outcome.value for r in replies) == ["failure"] * 5 + ["success"] * 3
    assert credit(sessions, ada)["reserved"] == 9_000
