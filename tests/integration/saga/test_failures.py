"""Failures on the real stack: at each step, in compensations, and an operator's retry."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from eventyard.saga._cli import app

STEPS = ("reserve_credit", "reserve_stock", "schedule_shipment", "approve_order")
UNDO = {
    "reserve_credit": "ReleaseCredit",
    "reserve_stock": "ReleaseStock",
    "schedule_shipment": "CancelShipment",
}


def compensations(env: Any, saga_id: Any) -> list[str]:
    return [
        r.step
        for r in env.log_lines(saga_id)
        if r.phase == "compensation" and r.outcome == "DISPATCHED"
    ]


def journal(env: Any, saga_id: Any) -> list[str]:
    rows = env.shop.rows(
        "SELECT command, at FROM customers.journal WHERE saga_id = :id "
        "UNION ALL SELECT command, at FROM inventory.journal WHERE saga_id = :id ORDER BY at",
        id=saga_id,
    )
    return [r.command for r in rows]


def test_a_failure_at_each_step_compensates_exactly_the_earlier_steps_in_reverse(
    shop_env: Any, shop: Any
) -> None:
    env = shop_env(tuning=shop.Tuning(backoff_s=0.05, backoff_max_s=0.2, approve_failures=2))
    ids = {
        step: env.shop.place(
            shop.OrderData(
                order_id=f"fail-{step}",
                customer_id="alice",
                sku="apple",
                qty=2,
                total=30,
                fail_at=step,
            ),
            version=2,
        )
        for step in STEPS
    }
    env.wait(
        lambda: all(env.status(i) in ("COMPLETED", "COMPENSATED") for i in ids.values()),
        "every saga to finish",
    )
    for position, step in enumerate(STEPS):
        saga_id = ids[step]
        if step == "approve_order":  # after the pivot: retried, never compensated
            assert env.status(saga_id) == "COMPLETED"
            assert compensations(env, saga_id) == []
            retries = [r for r in env.log_lines(saga_id) if r.step == step and r.outcome == "RETRY"]
            assert len(retries) == 2
            continue
        assert env.status(saga_id) == "COMPENSATED", step
        earlier = list(STEPS[:position])
        assert compensations(env, saga_id) == list(reversed(earlier)), step
        undo_order = [c for c in journal(env, saga_id) if c in UNDO.values()]
        assert undo_order == [UNDO[s] for s in reversed(earlier)], step
    # Effects: only the completed order holds credit, stock and a shipment.
    assert env.shop.scalar("SELECT sum(reserved) FROM customers.customer") == 30
    assert env.shop.scalar("SELECT sum(initial - available) FROM inventory.stock") == 2
    assert env.shop.scalar("SELECT count(*) FROM inventory.shipment") == 1
    statuses = dict(env.shop.rows("SELECT id, status FROM orders.orders"))
    assert statuses == {
        "fail-reserve_credit": "REJECTED",
        "fail-reserve_stock": "REJECTED",
        "fail-schedule_shipment": "REJECTED",
        "fail-approve_order": "APPROVED",
    }


def test_a_compensation_failing_three_times_then_succeeding_and_one_needing_an_operator(
    shop_env: Any, shop: Any
) -> None:
    env = shop_env(tuning=shop.Tuning(backoff_s=0.05, backoff_max_s=0.2, compensation_attempts=5))
    three = env.shop.place(
        shop.OrderData(
            order_id="three",
            customer_id="alice",
            sku="apple",
            qty=1,
            total=10,
            fail_at="reserve_stock",
            fail_compensation={"reserve_credit": 3},
        )
    )
    stuck = env.shop.place(
        shop.OrderData(
            order_id="stuck",
            customer_id="bob",
            sku="apple",
            qty=1,
            total=20,
            fail_at="reserve_stock",
            fail_compensation={"reserve_credit": 7},
        )
    )
    env.wait_status(three, "COMPENSATED")
    undo = [
        (r.attempt, r.outcome)
        for r in env.log_lines(three)
        if r.step == "reserve_credit"
        and r.phase == "compensation"
        and r.outcome in ("FAILED", "SUCCEEDED")
    ]
    assert undo == [(1, "FAILED"), (2, "FAILED"), (3, "FAILED"), (4, "SUCCEEDED")]
    # A refused attempt leaves nothing behind at the participant: only the fourth is journaled.
    assert env.shop.rows(
        "SELECT command, attempt FROM customers.journal WHERE saga_id = :id ORDER BY seq", id=three
    ) == [("ReserveCredit", 1), ("ReleaseCredit", 4)]
    # The other keeps failing: after 5 attempts it waits for an operator, its credit still held.
    env.wait_status(stuck, "COMPENSATION_FAILED")
    reason = env.shop.scalar("SELECT reason FROM orders.saga_state WHERE id = :id", id=stuck)
    assert reason == (
        "step reserve_credit (compensation) gave up after 5 attempts: "
        "the ledger is locked (test, attempt 5)"
    )
    assert env.shop.scalar("SELECT reserved FROM customers.customer WHERE id = 'bob'") == 20
    assert env.shop.scalar("SELECT wake_at FROM orders.saga_state WHERE id = :id", id=stuck) is None
    last = env.log_lines(stuck)[-1]
    assert (last.outcome, last.detail) == ("COMPENSATION_FAILED", reason)
    # The operator retries (a fresh budget of 5): attempts 6 and 7 fail, 8 succeeds.
    runner = CliRunner()
    listed = runner.invoke(
        app,
        [
            "list",
            "--dsn",
            env.dsn,
            "--schema",
            "orders",
            "--status",
            "COMPENSATION_FAILED",
            "--json",
        ],
    )
    assert listed.exit_code == 0, listed.output
    assert '"id": "' + str(stuck) + '"' in listed.output
    result = runner.invoke(
        app, ["retry", str(stuck), "--dsn", env.dsn, "--schema", "orders", "--wait", "30"]
    )
    assert result.exit_code == 0, result.output
    assert f"retry requested for saga {stuck}" in result.output
    env.wait_status(stuck, "COMPENSATED")
    attempts = [
        r.attempt
        for r in env.log_lines(stuck)
        if r.phase == "compensation" and r.outcome == "SUCCEEDED"
    ]
    assert attempts == [8]
    assert env.shop.scalar("SELECT sum(reserved) FROM customers.customer") == 0
    again = runner.invoke(app, ["retry", str(stuck), "--dsn", env.dsn, "--schema", "orders"])
    assert again.exit_code == 1
    assert "cannot retry saga" in again.output
    assert "it is COMPENSATED" in again.output
