"""Durable timeouts on the real stack: a participant that does not answer in time."""

from __future__ import annotations

from typing import Any


def outcomes(env: Any, saga_id: Any, step: str) -> list[tuple[str, int, str]]:
    return [(r.phase, r.attempt, r.outcome) for r in env.log_lines(saga_id) if r.step == step]


def test_a_step_that_times_out_is_retried_and_completes_once_the_participant_is_back(
    shop_env: Any, shop: Any
) -> None:
    env = shop_env(tuning=shop.Tuning(deadline_s=2.0, attempts=6, backoff_s=0.1), start=False)
    env.start("orchestrator")
    env.start("customers")  # inventory is down
    saga_id = env.shop.place(
        shop.OrderData(order_id="late", customer_id="alice", sku="pear", qty=3, total=40)
    )
    env.wait(
        lambda: ("action", 1, "TIMED_OUT") in outcomes(env, saga_id, "reserve_stock"),
        "the first attempt to time out",
    )
    env.start("inventory")
    assert env.wait_status(saga_id, "COMPLETED", "COMPENSATED") == "COMPLETED"
    stock = outcomes(env, saga_id, "reserve_stock")
    assert stock[:3] == [
        ("action", 1, "DISPATCHED"),
        ("action", 1, "TIMED_OUT"),
        ("action", 1, "RETRY_SCHEDULED"),
    ]
    assert stock[-1][2] == "SUCCEEDED"
    # Every attempt reached the participant; only the first ran, the others replayed its reply.
    assert env.shop.scalar("SELECT count(*) FROM inventory.reservation") == 1
    assert (
        env.shop.scalar("SELECT initial - available FROM inventory.stock WHERE sku = 'pear'") == 3
    )
    assert (
        env.shop.scalar("SELECT count(*) FROM inventory.journal WHERE command = 'ReserveStock'")
        == 1
    )


def test_a_step_that_keeps_timing_out_is_compensated_with_the_steps_before_it(
    shop_env: Any, shop: Any
) -> None:
    env = shop_env(
        tuning=shop.Tuning(deadline_s=1.0, attempts=2, backoff_s=0.1, compensation_attempts=30),
        start=False,
    )
    env.start("orchestrator")
    env.start("customers")  # inventory is down
    saga_id = env.shop.place(
        shop.OrderData(order_id="lost", customer_id="bob", sku="pear", qty=5, total=70)
    )
    env.wait(
        lambda: ("action", 2, "GAVE_UP") in outcomes(env, saga_id, "reserve_stock"),
        "the step to run out of attempts",
    )
    # The stock reservation may have happened (no answer is not a no): it is compensated first.
    env.start("inventory")
    assert env.wait_status(saga_id, "COMPENSATED", "COMPLETED") == "COMPENSATED"
    compensated = [
        r.step
        for r in env.log_lines(saga_id)
        if r.phase == "compensation" and r.outcome == "SUCCEEDED"
    ]
    assert compensated == ["reserve_stock", "reserve_credit"]
    reason = env.shop.scalar("SELECT reason FROM orders.saga_state WHERE id = :id", id=saga_id)
    assert reason == (
        "step reserve_stock (action) gave up after 2 attempts: no reply before the deadline"
    )
    # The late reservation arrived before its compensation and was undone: nothing is left.
    assert env.shop.scalar("SELECT sum(initial - available) FROM inventory.stock") == 0
    assert env.shop.scalar("SELECT sum(reserved) FROM customers.customer") == 0
    assert env.shop.scalar("SELECT status FROM orders.orders") == "REJECTED"
