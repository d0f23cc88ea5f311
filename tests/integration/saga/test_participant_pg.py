"""The participant helper against the real PostgreSQL, driven in-process: idempotent replies,
late actions after their compensation, empty undos, semantic locks, unknown commands."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from eventyard.outbox import (
    InboundMessage,
    InboxTable,
    Outbox,
    OutboxTable,
    RejectMessage,
    create_outbox_schema,
)
from eventyard.saga import (
    CommandEnvelope,
    CommandRejected,
    Participant,
    Phase,
    ReplyOutcome,
    SemanticLocks,
    create_saga_schema,
)


@dataclass
class Env:
    engine: sa.Engine
    sessions: sessionmaker[Session]
    participant: Participant
    calls: list[tuple[str, int]]

    def handle(self, command: CommandEnvelope) -> Any:
        with self.sessions() as session, session.begin():
            return self.participant.handle_command(session, command)

    def scalar(self, query: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(query), params).scalar()

    def replies(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT payload FROM outbox ORDER BY seq")).all()
        return [json.loads(bytes(r.payload)) for r in rows]


@pytest.fixture
def env(pg_database: str) -> Iterator[Env]:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        create_outbox_schema(conn, outbox=OutboxTable(partitions=4), inbox=InboxTable())
        create_saga_schema(conn, orchestrator=False, participant=True)
        conn.execute("CREATE TABLE credit (customer text PRIMARY KEY, reserved int NOT NULL)")
        conn.execute("INSERT INTO credit VALUES ('ann', 0)")
    engine = sa.create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(pg_database))
    participant = Participant("customers", outbox=Outbox(table=OutboxTable(partitions=4)))
    calls: list[tuple[str, int]] = []

    @participant.handles("Reserve")
    def reserve(session: Session, command: CommandEnvelope) -> dict[str, Any]:
        calls.append(("Reserve", command.attempt))
        amount = int(command.payload["amount"])
        if amount > 100:
            raise CommandRejected("over the limit")
        session.execute(
            sa.text("UPDATE credit SET reserved = reserved + :a WHERE customer = 'ann'"),
            {"a": amount},
        )
        return {"reserved": amount}

    @participant.handles("Release")
    def release(session: Session, command: CommandEnvelope) -> None:
        calls.append(("Release", command.attempt))
        session.execute(
            sa.text("UPDATE credit SET reserved = reserved - :a WHERE customer = 'ann'"),
            {"a": int(command.payload["amount"])},
        )

    yield Env(engine=engine, sessions=sessionmaker(engine), participant=participant, calls=calls)
    engine.dispose()


def command(
    saga_id: uuid.UUID,
    name: str,
    *,
    phase: Phase = Phase.ACTION,
    attempt: int = 1,
    amount: int = 10,
    lock: str | None = None,
    conflict: str = "retry",
) -> CommandEnvelope:
    return CommandEnvelope(
        saga_id=saga_id,
        saga_type="order",
        saga_version=1,
        step="credit",
        phase=phase,
        attempt=attempt,
        name=name,
        payload={"amount": amount},
        reply_to="saga.replies",
        lock=lock,
        lock_conflict=conflict,
    )


def test_a_repeated_command_replays_the_first_reply_without_running_again(env: Env) -> None:
    saga = uuid.uuid4()
    first = env.handle(command(saga, "Reserve"))
    again = env.handle(command(saga, "Reserve", attempt=2))
    assert (first.outcome, again.outcome) == (ReplyOutcome.SUCCESS, ReplyOutcome.SUCCESS)
    assert again.attempt == 2
    assert again.data == {"reserved": 10}
    assert env.calls == [("Reserve", 1)]
    assert env.scalar("SELECT reserved FROM credit") == 10
    replies = env.replies()
    assert [(r["attempt"], r["outcome"]) for r in replies] == [(1, "success"), (2, "success")]
    assert env.scalar("SELECT aggregatetype FROM outbox LIMIT 1") == "saga.replies"


def test_a_rejection_is_final_and_undone(env: Env) -> None:
    saga = uuid.uuid4()
    refused = env.handle(command(saga, "Reserve", amount=500))
    assert (refused.outcome, refused.reason) == (ReplyOutcome.FAILURE, "over the limit")
    assert (
        env.handle(command(saga, "Reserve", amount=500, attempt=2)).outcome == ReplyOutcome.FAILURE
    )
    assert env.calls == [("Reserve", 1)]
    # The compensation of an action that never took effect runs nothing.
    undo = env.handle(command(saga, "Release", phase=Phase.COMPENSATION))
    assert undo.outcome == ReplyOutcome.SUCCESS
    assert undo.reason == "nothing to undo: the action never took effect here"
    assert env.calls == [("Reserve", 1)]
    assert env.scalar("SELECT reserved FROM credit") == 0


def test_an_action_arriving_after_its_compensation_is_refused(env: Env) -> None:
    saga = uuid.uuid4()
    env.handle(command(saga, "Release", phase=Phase.COMPENSATION))
    late = env.handle(command(saga, "Reserve"))
    assert late.outcome == ReplyOutcome.FAILURE
    assert late.reason == "the step was compensated before its action arrived; not applied"
    assert env.calls == []
    assert env.scalar("SELECT reserved FROM credit") == 0


def test_compensation_undoes_once(env: Env) -> None:
    saga = uuid.uuid4()
    env.handle(command(saga, "Reserve"))
    env.handle(command(saga, "Release", phase=Phase.COMPENSATION))
    env.handle(command(saga, "Release", phase=Phase.COMPENSATION, attempt=2))
    assert env.calls == [("Reserve", 1), ("Release", 1)]
    assert env.scalar("SELECT reserved FROM credit") == 0


def test_semantic_locks_are_taken_with_the_action_and_released(env: Env) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    env.handle(command(first, "Reserve", lock="customer:ann"))
    locks = SemanticLocks()
    with env.sessions() as session:
        holder = locks.holder(session, "customer:ann")
    assert holder is not None
    assert holder.saga_id == first
    wait = env.handle(command(second, "Reserve", lock="customer:ann"))
    assert wait.outcome == ReplyOutcome.RETRY
    assert wait.reason == f"customer:ann is pending in saga {first} (order, step credit)"
    refuse = env.handle(command(uuid.uuid4(), "Reserve", lock="customer:ann", conflict="reject"))
    assert refuse.outcome == ReplyOutcome.FAILURE
    assert env.scalar("SELECT reserved FROM credit") == 10  # neither ran
    release = InboundMessage(
        id="r1",
        topic="t",
        partition=0,
        offset=0,
        key=str(first),
        value=json.dumps({"saga_id": str(first), "saga_type": "order"}).encode(),
        headers={"eventType": "SagaReleaseLocks"},
    )
    with env.sessions() as session, session.begin():
        env.participant.handle(session, release)
    assert env.handle(command(second, "Reserve", lock="customer:ann", attempt=2)).outcome == (
        ReplyOutcome.SUCCESS
    )


def test_unknown_commands_and_garbage(env: Env) -> None:
    reply = env.handle(command(uuid.uuid4(), "Teleport"))
    assert reply.outcome == ReplyOutcome.FAILURE
    assert (
        reply.reason
        == "participant customers has no handler for Teleport (it has: Release, Reserve)"
    )
    garbage = InboundMessage(
        id="g", topic="t", partition=0, offset=0, key=None, value=b"{}", headers={}
    )
    with (
        pytest.raises(RejectMessage, match="not a saga command: KeyError"),
        env.sessions() as session,
    ):
        env.participant.handle(session, garbage)
