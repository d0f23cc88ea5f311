"""Duplicate, late and out-of-order replies on the real stack never move a saga twice.

The orchestrator runs as a process; the test plays both participants itself, reading commands
from Kafka and producing replies straight onto the reply topic, in the wrong order and twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Producer

from eventyard.saga import EVENT_TYPE_REPLY, Phase, ReplyEnvelope, ReplyOutcome

Consume = Callable[..., list[Any]]


def send(
    env: Any, producer: Producer, reply: ReplyEnvelope, *, message_id: str | None = None
) -> str:
    message_id = message_id or str(uuid.uuid4())
    producer.produce(
        f"{env.prefix}.saga.replies",
        key=str(reply.saga_id).encode(),
        value=json.dumps(reply.to_json()).encode(),
        headers=[("id", message_id.encode()), ("eventType", EVENT_TYPE_REPLY.encode())],
    )
    assert producer.flush(10) == 0
    return message_id


def reply(
    saga_id: uuid.UUID,
    step: str,
    outcome: ReplyOutcome,
    *,
    attempt: int = 1,
    phase: Phase = Phase.ACTION,
) -> ReplyEnvelope:
    return ReplyEnvelope(
        saga_id=saga_id,
        saga_type="order",
        step=step,
        phase=phase,
        attempt=attempt,
        outcome=outcome,
        participant="test",
    )


def test_duplicate_late_and_out_of_order_replies_move_the_saga_exactly_once(
    shop_env: Any, shop: Any, consume: Consume
) -> None:
    env = shop_env(tuning=shop.Tuning(deadline_s=120), start=False)
    env.start("orchestrator")
    producer = Producer({"bootstrap.servers": env.kafka})
    saga_id = env.shop.place(
        shop.OrderData(order_id="dup", customer_id="alice", sku="apple", qty=1, total=10)
    )
    (credit,) = consume(f"{env.prefix}.customers.commands", 1)
    assert json.loads(credit.value())["step"] == "reserve_credit"

    def ignored() -> int:
        return sum(1 for r in env.log_lines(saga_id) if r.outcome == "IGNORED")

    # Out of order: a reply for the next step before this one's; one for an attempt never sent.
    send(env, producer, reply(saga_id, "reserve_stock", ReplyOutcome.SUCCESS))
    send(env, producer, reply(saga_id, "reserve_credit", ReplyOutcome.SUCCESS, attempt=2))
    send(
        env,
        producer,
        reply(saga_id, "reserve_credit", ReplyOutcome.SUCCESS, phase=Phase.COMPENSATION),
    )
    env.wait(lambda: ignored() == 3, "three ignored replies")
    assert env.status(saga_id) == "RUNNING"
    assert env.shop.scalar("SELECT version FROM orders.saga_state") == 0
    # The real answer, three times: twice under new message ids, once as an exact redelivery.
    first = send(env, producer, reply(saga_id, "reserve_credit", ReplyOutcome.SUCCESS))
    send(env, producer, reply(saga_id, "reserve_credit", ReplyOutcome.SUCCESS))
    send(env, producer, reply(saga_id, "reserve_credit", ReplyOutcome.FAILURE))
    send(env, producer, reply(saga_id, "reserve_credit", ReplyOutcome.SUCCESS), message_id=first)
    env.wait(lambda: ignored() == 5, "two more ignored replies (the redelivery never reaches it)")
    assert env.shop.scalar("SELECT version FROM orders.saga_state") == 1
    stock_commands = consume(f"{env.prefix}.inventory.commands", 2, timeout_s=5)
    assert len(stock_commands) == 1  # the step after it was dispatched once
    assert (
        env.shop.scalar("SELECT count(*) FROM orders.inbox WHERE message_id = :id", id=first) == 1
    )
    # Finish, then replay everything again: nothing moves.
    send(env, producer, reply(saga_id, "reserve_stock", ReplyOutcome.SUCCESS))
    env.wait_status(saga_id, "COMPLETED")
    version = env.shop.scalar("SELECT version FROM orders.saga_state")
    for late in (
        reply(saga_id, "reserve_stock", ReplyOutcome.FAILURE),
        reply(saga_id, "reserve_credit", ReplyOutcome.SUCCESS),
        reply(saga_id, "approve_order", ReplyOutcome.SUCCESS),
    ):
        send(env, producer, late)
    env.wait(lambda: ignored() == 8, "the late replies to be ignored")
    assert env.shop.scalar("SELECT version FROM orders.saga_state") == version
    assert env.shop.scalar("SELECT status FROM orders.orders") == "APPROVED"
    moved = [r.outcome for r in env.log_lines(saga_id) if r.outcome in ("SUCCEEDED", "FAILED")]
    assert moved == ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]  # credit, stock, approval
    details = [r.detail for r in env.log_lines(saga_id) if r.outcome == "IGNORED"]
    assert details[:3] == [
        "waiting for reserve_credit (action), not reserve_stock (action)",
        "waiting for attempt 1, not 2",
        "waiting for reserve_credit (action), not reserve_credit (compensation)",
    ]
    assert details[-1] == "the saga is COMPLETED"
