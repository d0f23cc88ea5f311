"""The orchestrator against the real PostgreSQL, driven in-process (no Kafka needed): persistence,
optimistic versions, durable timers shared by concurrent orchestrators, requests, local steps."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from eventyard.kafka import Retry
from eventyard.outbox import InboxTable, Outbox, OutboxTable, create_outbox_schema
from eventyard.saga import (
    Backoff,
    Command,
    ConcurrentUpdate,
    Local,
    Lock,
    LockConflict,
    OperationRefused,
    Orchestrator,
    OrchestratorConfig,
    Phase,
    ReplyEnvelope,
    ReplyOutcome,
    RetryPolicy,
    SagaAdmin,
    SagaDefinition,
    SagaFilter,
    SagaStatus,
    SagaTables,
    Step,
    StepFailed,
    create_saga_schema,
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Data(BaseModel):
    n: int
    note: str = ""


FAST = Backoff(initial=timedelta(seconds=1), maximum=timedelta(seconds=1), jitter=0)


def bump(session: Session, data: Data) -> Data:
    session.execute(sa.text("INSERT INTO effects (n) VALUES (:n)"), {"n": data.n})
    if data.n < 0:
        raise StepFailed("negative")
    return data.model_copy(update={"note": "bumped"})


SAGA = SagaDefinition(
    name="pg",
    data=Data,
    steps=[
        Step(
            name="remote",
            action=Command(participant="p", name="Do"),
            compensation=Command(participant="p", name="Undo"),
            retry=RetryPolicy(max_attempts=2, backoff=FAST),
            deadline=timedelta(seconds=10),
        ),
        Step(
            name="local",
            action=Local(run=bump),
            lock=Lock(resource=lambda d: f"n:{d.n}", on_conflict=LockConflict.REJECT),
        ),
    ],
)


@dataclass
class Db:
    engine: sa.Engine
    sessions: sessionmaker[Session]
    clock: Clock

    def orchestrator(self, name: str = "o1") -> Orchestrator:
        return Orchestrator(
            definitions=[SAGA],
            sessions=self.sessions,
            outbox=Outbox(table=OutboxTable(partitions=4)),
            config=OrchestratorConfig(name=name, timer_batch=50),
            clock=self.clock,
        )

    def scalar(self, query: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(query), params).scalar()


@pytest.fixture
def db(pg_database: str) -> Iterator[Db]:
    with psycopg.connect(pg_database, autocommit=True) as conn:
        create_outbox_schema(conn, outbox=OutboxTable(partitions=4), inbox=InboxTable())
        create_saga_schema(conn, tables=SagaTables())
        conn.execute("CREATE TABLE effects (n int)")
    engine = sa.create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(pg_database))
    yield Db(engine=engine, sessions=sessionmaker(engine), clock=Clock())
    engine.dispose()


def start(db: Db, orchestrator: Orchestrator, n: int = 1, **kw: Any) -> uuid.UUID:
    with db.sessions() as session, session.begin():
        return orchestrator.start(session, SAGA, Data(n=n), **kw)


def reply(
    saga_id: uuid.UUID,
    outcome: ReplyOutcome,
    *,
    step: str = "remote",
    phase: Phase = Phase.ACTION,
    attempt: int = 1,
) -> ReplyEnvelope:
    return ReplyEnvelope(
        saga_id=saga_id, saga_type="pg", step=step, phase=phase, attempt=attempt, outcome=outcome
    )


def apply(db: Db, orchestrator: Orchestrator, envelope: ReplyEnvelope) -> bool:
    with db.sessions() as session, session.begin():
        return orchestrator.apply_reply(session, envelope)


def test_start_writes_the_instance_the_log_and_the_command_in_one_transaction(db: Db) -> None:
    o = db.orchestrator()
    with db.sessions() as session, session.begin():
        o.start(session, SAGA, Data(n=1))
        session.rollback()
    assert db.scalar("SELECT count(*) FROM saga_state") == 0
    assert db.scalar("SELECT count(*) FROM outbox") == 0
    saga_id = start(db, o)
    assert db.scalar("SELECT sagastatus FROM saga_state") == "RUNNING"
    assert db.scalar("SELECT currentstep FROM saga_state") == "remote"
    assert db.scalar("SELECT count(*) FROM saga_step_log") == 2
    assert db.scalar("SELECT aggregatetype || ' ' || type FROM outbox") == "p.commands Do"
    assert db.scalar("SELECT aggregateid FROM outbox") == str(saga_id)
    assert db.scalar("SELECT wake_at FROM saga_state") == db.clock.now + timedelta(seconds=10)
    assert start(db, o, saga_id=saga_id) == saga_id  # idempotent
    assert db.scalar("SELECT count(*) FROM saga_state") == 1


def test_a_reply_moves_the_saga_once_and_runs_the_local_step_in_the_same_transaction(
    db: Db,
) -> None:
    o = db.orchestrator()
    saga_id = start(db, o, n=5)
    assert apply(db, o, reply(saga_id, ReplyOutcome.SUCCESS)) is True
    assert apply(db, o, reply(saga_id, ReplyOutcome.SUCCESS)) is False
    assert db.scalar("SELECT sagastatus FROM saga_state") == "COMPLETED"
    assert db.scalar("SELECT version FROM saga_state") == 1
    assert db.scalar("SELECT payload->>'note' FROM saga_state") == "bumped"
    assert db.scalar("SELECT count(*) FROM effects") == 1
    assert db.scalar("SELECT count(*) FROM saga_lock") == 0  # released at the end
    assert db.scalar("SELECT finished_at IS NOT NULL FROM saga_state") is True
    outcomes = db.scalar("SELECT string_agg(outcome, ',' ORDER BY seq) FROM saga_step_log")
    assert outcomes == "STARTED,DISPATCHED,SUCCEEDED,DISPATCHED,SUCCEEDED,COMPLETED,IGNORED"


def test_a_failing_local_step_leaves_no_effect_and_compensates(db: Db) -> None:
    o = db.orchestrator()
    saga_id = start(db, o, n=-1)
    apply(db, o, reply(saga_id, ReplyOutcome.SUCCESS))
    assert db.scalar("SELECT count(*) FROM effects") == 0  # the savepoint undid it
    assert db.scalar("SELECT sagastatus FROM saga_state") == "COMPENSATING"
    assert db.scalar("SELECT type FROM outbox ORDER BY seq DESC LIMIT 1") == "Undo"
    apply(db, o, reply(saga_id, ReplyOutcome.SUCCESS, phase=Phase.COMPENSATION))
    assert db.scalar("SELECT sagastatus FROM saga_state") == "COMPENSATED"


def test_a_rejecting_semantic_lock_held_by_another_saga_fails_the_step(db: Db) -> None:
    o = db.orchestrator()
    with db.sessions() as session, session.begin():
        session.execute(
            sa.text(
                "INSERT INTO saga_lock (resource, saga_id, saga_type, step) "
                "VALUES ('n:7', :id, 'other', 'x')"
            ),
            {"id": uuid.uuid4()},
        )
    saga_id = start(db, o, n=7)
    apply(db, o, reply(saga_id, ReplyOutcome.SUCCESS))
    reason = db.scalar("SELECT reason FROM saga_state")
    assert reason.startswith("step local failed: n:7 is locked by saga ")


def test_the_step_log_is_append_only(db: Db) -> None:
    start(db, db.orchestrator())
    with pytest.raises(sa.exc.ProgrammingError, match="append-only"), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE saga_step_log SET detail = 'rewritten'"))


def test_a_stale_version_is_refused(db: Db) -> None:
    o = db.orchestrator()
    saga_id = start(db, o)
    with db.sessions() as session, session.begin():
        row = o.store.lock(session, saga_id)
        assert row is not None
        record = o._record(row)
        record.version -= 1
        with pytest.raises(ConcurrentUpdate, match="changed since version -1"):
            o.store.update(session, record)


def test_due_timers_are_shared_by_concurrent_orchestrators_and_fired_once(db: Db) -> None:
    first, second = db.orchestrator("o1"), db.orchestrator("o2")
    ids = [start(db, first, n=i) for i in range(60)]
    db.clock.now += timedelta(seconds=11)  # every deadline has passed
    woken: list[int] = []
    barrier = threading.Barrier(2)

    def fire(o: Orchestrator) -> None:
        barrier.wait()
        woken.append(o.fire_due(limit=60))

    threads = [threading.Thread(target=fire, args=(o,)) for o in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(woken) == 60
    timeouts = db.scalar("SELECT count(*) FROM saga_step_log WHERE outcome = 'TIMED_OUT'")
    assert timeouts == 60  # each saga's timer fired exactly once
    assert db.scalar("SELECT count(DISTINCT owner) FROM saga_state") >= 1
    assert db.scalar("SELECT count(*) FROM saga_state WHERE version = 1") == len(ids)
    db.clock.now += timedelta(seconds=1)
    assert first.fire_due(limit=60) == 60  # the retries are due: attempt 2 of each
    assert (
        db.scalar("SELECT count(*) FROM outbox WHERE headers->>'eventyard.saga.attempt' = '2'")
        == 60
    )


def test_sagas_stored_started_are_begun_by_a_timer_pass_and_resume_reports_them(db: Db) -> None:
    o = db.orchestrator()
    ids = [start(db, o, n=i, run_now=False) for i in range(3)]
    assert db.scalar("SELECT count(*) FROM outbox") == 0
    report = o.resume()
    assert report.unfinished == {("pg", 1, "STARTED"): 3}
    assert report.overdue == 3
    assert report.missing == {}
    assert o.fire_due() == 3
    assert db.scalar("SELECT count(*) FROM saga_state WHERE sagastatus = 'RUNNING'") == 3
    stranger = Orchestrator(
        definitions=[SagaDefinition(name="other", data=Data, steps=SAGA.steps)],
        sessions=db.sessions,
        outbox=Outbox(),
        clock=db.clock,
    )
    assert stranger.resume().missing == {("pg", 1): 3}
    db.clock.now += timedelta(seconds=60)
    assert stranger.fire_due() == 0  # it never touches sagas it has no definition for
    assert len(ids) == 3


def test_operator_requests_are_carried_out_by_the_next_timer_pass(db: Db) -> None:
    o = db.orchestrator()
    admin = SagaAdmin(db.sessions)
    saga_id = start(db, o)
    instance = admin.abort(str(saga_id)[:8], reason="fraud suspected")
    assert instance.pending_request == "abort"
    assert o.fire_due() == 1
    done = admin.get(saga_id)
    assert done.status == SagaStatus.COMPENSATING
    assert done.pending_request is None
    assert done.reason == "fraud suspected"
    with pytest.raises(OperationRefused, match=r"cannot abort saga .* it is COMPENSATING"):
        admin.abort(saga_id)
    apply(db, o, reply(saga_id, ReplyOutcome.SUCCESS, phase=Phase.COMPENSATION))
    assert admin.get(saga_id).status == SagaStatus.COMPENSATED
    with pytest.raises(OperationRefused, match="retry applies to"):
        admin.retry(saga_id)
    with pytest.raises(ConcurrentUpdate):
        admin.retry(saga_id, expect_version=0)
    assert [i.id for i in admin.list(SagaFilter(statuses=(SagaStatus.COMPENSATED,)))] == [saga_id]
    assert admin.list(SagaFilter(saga_type="nope")) == []
    log = admin.log(saga_id)
    assert [e.outcome.value for e in log][-4:] == [
        "ABORTED",
        "DISPATCHED",
        "SUCCEEDED",
        "COMPENSATED",
    ]
    assert {e.trace_id for e in log} == {done.trace_id}


def test_a_failing_wake_up_is_tried_again_after_growing_waits(db: Db) -> None:
    broken = [True]

    def completed(session: Session, data: Data) -> None:
        if broken[0]:
            raise RuntimeError("the read model is locked")

    definition = SagaDefinition(
        name="pg",
        data=Data,
        steps=[Step(name="local", action=Local(run=bump))],
        on_completed=completed,
    )
    o = Orchestrator(
        definitions=[definition],
        sessions=db.sessions,
        outbox=Outbox(table=OutboxTable(partitions=4)),
        config=OrchestratorConfig(
            retry=Retry(wait_initial=1.0, wait_max=3.0, wait_jitter=0.0), timer_batch=50
        ),
        clock=db.clock,
    )
    with db.sessions() as session, session.begin():
        o.start(session, definition, Data(n=1), run_now=False)
    waits = []
    for _ in range(4):
        assert o.fire_due() == 1
        wake_at = db.scalar("SELECT wake_at FROM saga_state")
        waits.append((wake_at - db.clock.now).total_seconds())
        db.clock.now = wake_at
    assert waits == [1.0, 2.0, 3.0, 3.0]  # retry.delay(1), (2), ... up to wait_max
    assert db.scalar("SELECT sagastatus FROM saga_state") == "STARTED"  # each try rolled back
    broken[0] = False
    assert o.fire_due() == 1
    assert db.scalar("SELECT sagastatus FROM saga_state") == "COMPLETED"
    assert o._wake_failures == {}
