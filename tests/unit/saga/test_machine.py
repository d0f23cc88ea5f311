"""The pure state machine on its own: examples, then properties over generated worlds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from eventyard.saga import (
    Abort,
    Begin,
    Decision,
    Dispatch,
    Finish,
    LogLine,
    LogOutcome,
    MachineState,
    Phase,
    Plan,
    Reply,
    ReplyOutcome,
    Retry,
    RetryPolicy,
    SagaStatus,
    StepSpec,
    Tick,
    WaitKind,
    decide,
    initial_state,
)
from tests.unit.saga.strategies import NO_JITTER, Deliver, Operator, Redeliver, Wait, moves, plans

T0 = datetime(2030, 1, 1, tzinfo=UTC)
S = ReplyOutcome.SUCCESS
F = ReplyOutcome.FAILURE
R = ReplyOutcome.RETRY
A = Phase.ACTION
C = Phase.COMPENSATION


def spec(
    i: int,
    *,
    local: bool = False,
    compensable: bool = True,
    retriable: bool = False,
    attempts: int | None = 3,
    undo_attempts: int = 3,
    deadline: int = 10,
) -> StepSpec:
    return StepSpec(
        index=i,
        name=f"s{i}",
        local=local,
        compensable=compensable,
        compensation_local=False,
        retriable=retriable,
        retry=RetryPolicy(max_attempts=attempts, backoff=NO_JITTER),
        compensation_retry=RetryPolicy(max_attempts=undo_attempts, backoff=NO_JITTER),
        deadline=timedelta(seconds=deadline),
    )


THREE = Plan(steps=(spec(0), spec(1), spec(2)), pivot=None)


def dispatches(decision: Decision) -> list[tuple[int, Phase, int]]:
    return [(e.step, e.phase, e.attempt) for e in decision.effects if isinstance(e, Dispatch)]


def outcomes_of(decision: Decision) -> list[LogOutcome]:
    return [e.outcome for e in decision.effects if isinstance(e, LogLine)]


class Saga:
    """One saga driven by hand through decide()."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.now = T0
        self.state = initial_state(T0)

    def feed(self, event: Begin | Reply | Tick | Abort | Retry) -> Decision:
        decision = decide(self.plan, self.state, event, now=self.now, seed="saga-1")
        self.state = decision.state
        return decision

    def reply(self, step: int, phase: Phase, attempt: int, outcome: ReplyOutcome) -> Decision:
        return self.feed(Reply(step=step, phase=phase, attempt=attempt, outcome=outcome))

    def wait(self, seconds: float) -> Decision:
        self.now += timedelta(seconds=seconds)
        return self.feed(Tick())

    def status(self) -> SagaStatus:
        """The current status (read through a call: mypy keeps no narrowing across feeds)."""
        return self.state.status


# ------------------------------------------------------------------------------------ examples


def test_a_saga_starts_its_first_step_and_completes_step_by_step() -> None:
    saga = Saga(THREE)
    assert saga.status() == SagaStatus.STARTED
    assert saga.state.wait == WaitKind.START
    first = saga.feed(Begin())
    assert dispatches(first) == [(0, A, 1)]
    assert saga.status() == SagaStatus.RUNNING
    assert saga.state.due == T0 + timedelta(seconds=10)
    assert dispatches(saga.reply(0, A, 1, S)) == [(1, A, 1)]
    assert dispatches(saga.reply(1, A, 1, S)) == [(2, A, 1)]
    last = saga.reply(2, A, 1, S)
    assert saga.status() == SagaStatus.COMPLETED
    assert saga.state.completed == (0, 1, 2)
    assert Finish(status=SagaStatus.COMPLETED) in last.effects
    assert saga.state.due is None


def test_a_failure_compensates_the_completed_steps_in_reverse_order() -> None:
    saga = Saga(THREE)
    saga.feed(Begin())
    saga.reply(0, A, 1, S)
    saga.reply(1, A, 1, S)
    failed = saga.reply(2, A, 1, F)
    assert dispatches(failed) == [(1, C, 1)]
    assert saga.status() == SagaStatus.COMPENSATING
    assert "s2 failed" in (saga.state.reason or "")
    assert dispatches(saga.reply(1, C, 1, S)) == [(0, C, 1)]
    saga.reply(0, C, 1, S)
    assert saga.status() == SagaStatus.COMPENSATED
    assert saga.state.compensated == (1, 0)


def test_a_duplicate_or_late_reply_is_ignored() -> None:
    saga = Saga(THREE)
    saga.feed(Begin())
    saga.reply(0, A, 1, S)
    before = saga.state
    for step, phase, attempt, outcome in [
        (0, A, 1, S),
        (0, A, 1, F),
        (2, A, 1, S),
        (1, C, 1, S),
        (1, A, 2, S),
        (1, A, 0, S),
        (7, A, 1, S),
    ]:
        decision = saga.reply(step, phase, attempt, outcome)
        assert not decision.accepted
        assert decision.effects == ()
        assert saga.state is before


def test_a_missed_deadline_retries_with_backoff_then_compensates_the_step_in_doubt() -> None:
    saga = Saga(THREE)
    saga.feed(Begin())
    saga.reply(0, A, 1, S)
    timed_out = saga.wait(10)
    assert outcomes_of(timed_out) == [LogOutcome.TIMED_OUT, LogOutcome.RETRY_SCHEDULED]
    assert saga.state.wait == WaitKind.BACKOFF
    assert saga.state.due == saga.now + timedelta(seconds=1)
    assert not saga.reply(1, A, 1, S).accepted  # the late reply of attempt 1
    assert dispatches(saga.wait(1)) == [(1, A, 2)]
    saga.wait(10)
    assert dispatches(saga.wait(2)) == [(1, A, 3)]  # backoff doubled
    gave_up = saga.wait(10)
    # No definite answer: step 1 may have happened, so it is compensated too, first.
    assert dispatches(gave_up) == [(1, C, 1)]
    assert LogOutcome.GAVE_UP in outcomes_of(gave_up)


def test_a_retry_reply_uses_attempts_and_a_business_failure_does_not_retry() -> None:
    saga = Saga(THREE)
    saga.feed(Begin())
    saga.reply(0, A, 1, R)
    assert saga.state.wait == WaitKind.BACKOFF
    saga.wait(1)
    saga.reply(0, A, 2, F)
    assert saga.status() == SagaStatus.COMPENSATED  # nothing was completed
    assert saga.state.compensated == ()


def test_a_compensation_that_keeps_failing_parks_the_saga_until_an_operator_retries() -> None:
    plan = Plan(steps=(spec(0, undo_attempts=2), spec(1)), pivot=None)
    saga = Saga(plan)
    saga.feed(Begin())
    saga.reply(0, A, 1, S)
    saga.reply(1, A, 1, F)
    saga.reply(0, C, 1, F)
    saga.wait(1)
    parked = saga.reply(0, C, 2, F)
    assert saga.status() == SagaStatus.COMPENSATION_FAILED
    assert LogOutcome.GAVE_UP in outcomes_of(parked)
    assert saga.state.due is None
    assert not saga.wait(3600).accepted  # nothing fires by itself
    retried = saga.feed(Retry())
    assert dispatches(retried) == [(0, C, 3)]
    assert saga.state.budget_from == 3  # a fresh budget
    saga.reply(0, C, 3, S)
    assert saga.status() == SagaStatus.COMPENSATED


def test_after_the_pivot_steps_are_retried_and_never_compensated() -> None:
    plan = Plan(
        steps=(spec(0), spec(1), spec(2, compensable=False, retriable=True, attempts=None)), pivot=1
    )
    saga = Saga(plan)
    saga.feed(Begin())
    saga.reply(0, A, 1, S)
    saga.reply(1, A, 1, S)
    assert saga.state.pivot_passed
    for attempt in range(1, 8):
        saga.reply(2, A, attempt, F)
        assert saga.status() == SagaStatus.RUNNING
        saga.wait(4)
    refused = saga.feed(Abort())
    assert not refused.accepted
    assert outcomes_of(refused) == [LogOutcome.REFUSED]
    saga.reply(2, A, 8, S)
    assert saga.status() == SagaStatus.COMPLETED


def test_a_bounded_step_after_the_pivot_fails_the_saga_for_an_operator() -> None:
    plan = Plan(steps=(spec(0), spec(1, compensable=False, retriable=True, attempts=1)), pivot=0)
    saga = Saga(plan)
    saga.feed(Begin())
    saga.reply(0, A, 1, S)
    saga.reply(1, A, 1, R)
    assert saga.status() == SagaStatus.FAILED
    saga.feed(Retry())
    saga.reply(1, A, 2, S)
    assert saga.status() == SagaStatus.COMPLETED


def test_abort_compensates_the_step_in_flight_and_the_completed_ones() -> None:
    saga = Saga(THREE)
    saga.feed(Begin())
    saga.reply(0, A, 1, S)
    aborted = saga.feed(Abort(reason="customer cancelled"))
    assert dispatches(aborted) == [(1, C, 1)]
    assert saga.state.reason == "customer cancelled"
    assert not saga.reply(1, A, 1, S).accepted  # the action's late success changes nothing
    saga.reply(1, C, 1, S)
    saga.reply(0, C, 1, S)
    assert saga.status() == SagaStatus.COMPENSATED


def test_local_steps_wait_for_their_result_and_resume_if_interrupted() -> None:
    plan = Plan(steps=(spec(0, local=True),), pivot=None)
    saga = Saga(plan)
    first = saga.feed(Begin())
    assert [e.local for e in first.effects if isinstance(e, Dispatch)] == [True]
    assert saga.state.wait == WaitKind.LOCAL
    # A process died before storing the local step's result: the timer runs it again.
    again = saga.wait(0)
    assert dispatches(again) == [(0, A, 1)]
    saga.reply(0, A, 1, S)
    assert saga.status() == SagaStatus.COMPLETED


def test_the_state_survives_its_json_form() -> None:
    saga = Saga(THREE)
    saga.feed(Begin())
    saga.reply(0, A, 1, S)
    saga.wait(10)
    assert MachineState.from_json(saga.state.to_json()) == saga.state


# ------------------------------------------------------------------------------------ properties


@dataclass
class World:
    """A saga and everything that happened to it, checked after every input."""

    plan: Plan
    state: MachineState = field(default_factory=lambda: initial_state(T0))
    now: datetime = T0
    sent: list[tuple[int, Phase, int]] = field(default_factory=list)
    delivered: list[Reply] = field(default_factory=list)
    accepted: list[tuple[int, Phase, int]] = field(default_factory=list)
    compensations: list[int] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    terminal: MachineState | None = None
    pivot_passed_seen: bool = False
    last_dispatch: tuple[int, Phase, int] | None = None

    def feed(
        self, event: Begin | Reply | Tick | Abort | Retry, local_outcome: ReplyOutcome
    ) -> None:
        pending: Begin | Reply | Tick | Abort | Retry | None = event
        while pending is not None:
            before = self.state
            decision = decide(self.plan, self.state, pending, now=self.now, seed="w")
            if isinstance(pending, Reply) and decision.accepted:
                key = (pending.step, pending.phase, pending.attempt)
                assert key not in self.accepted, f"{key} moved the saga twice"
                assert key == self.last_dispatch, f"{key} is not the attempt waited for"
                self.accepted.append(key)
            if not decision.accepted:
                assert decision.state is before
                assert all(isinstance(e, LogLine) for e in decision.effects)
            if self.terminal is not None:
                assert not decision.accepted, "a finished saga moved"
            self.state = decision.state
            pending = None
            for effect in decision.effects:
                if isinstance(effect, Dispatch):
                    key = (effect.step, effect.phase, effect.attempt)
                    self.last_dispatch = key
                    if not effect.local:
                        assert key not in self.sent, f"{key} was sent twice"
                        self.sent.append(key)
                    self.record_dispatch(effect)
                    if effect.local:
                        pending = Reply(
                            step=effect.step,
                            phase=effect.phase,
                            attempt=effect.attempt,
                            outcome=local_outcome,
                        )
            self.check()

    def record_dispatch(self, d: Dispatch) -> None:
        if d.phase == Phase.COMPENSATION:
            if not self.compensations or self.compensations[-1] != d.step:
                self.compensations.append(d.step)
            spec_ = self.plan.steps[d.step]
            assert spec_.compensable
            assert not spec_.retriable
        else:
            if self.actions and self.actions[-1] != d.step:
                previous = self.actions[-1]
                assert d.step == previous + 1, "actions run in order, one after the other"
                assert previous in self.state.completed
            self.actions.append(d.step)

    def check(self) -> None:
        s = self.state
        # Compensations run in strictly reverse step order.
        assert self.compensations == sorted(set(self.compensations), reverse=True)
        # Only steps whose action ran (or may have run) are compensated.
        for step in self.compensations:
            assert step in self.actions
        if s.pivot_passed:
            self.pivot_passed_seen = True
        if self.pivot_passed_seen:
            assert s.pivot_passed
            assert s.status not in (SagaStatus.COMPENSATING, SagaStatus.COMPENSATED)
            assert not self.compensations
        if s.status == SagaStatus.COMPLETED:
            assert s.completed == tuple(range(len(self.plan.steps)))
        if s.status == SagaStatus.COMPENSATED:
            done = [i for i in s.completed if self.plan.steps[i].compensable]
            assert set(done) <= set(s.compensated)
            assert list(s.compensated) == sorted(s.compensated, reverse=True)
        if s.status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED):
            assert s.due is None
            self.terminal = self.terminal or s
        if s.active and s.status != SagaStatus.STARTED:
            assert s.step is not None
            assert s.due is not None or self.plan.steps[s.step].deadline is None


def play(world: World, script: list[object], local_outcomes: list[ReplyOutcome]) -> None:
    world.feed(Begin(), local_outcomes[0])
    for n, move in enumerate(script):
        local = local_outcomes[n % len(local_outcomes)]
        if isinstance(move, Deliver):
            if move.forge is not None:
                step, phase, attempt = move.forge
                reply = Reply(step=step, phase=phase, attempt=attempt, outcome=move.outcome)
            elif world.sent:
                step, phase, attempt = world.sent[move.pick % len(world.sent)]
                reply = Reply(step=step, phase=phase, attempt=attempt, outcome=move.outcome)
            else:
                continue
            world.delivered.append(reply)
            world.feed(reply, local)
        elif isinstance(move, Redeliver) and world.delivered:
            world.feed(world.delivered[move.pick % len(world.delivered)], local)
        elif isinstance(move, Wait):
            world.now += timedelta(seconds=move.seconds)
            world.feed(Tick(), local)
        elif isinstance(move, Operator):
            world.feed(Abort() if move.abort else Retry(), local)


@settings(max_examples=400, deadline=None)
@given(
    plans(),
    st.lists(moves, max_size=60),
    st.lists(st.sampled_from(list(ReplyOutcome)), min_size=1, max_size=5),
)
def test_no_input_sequence_moves_a_saga_twice_or_breaks_the_compensation_order(
    plan: Plan, script: list[object], local_outcomes: list[ReplyOutcome]
) -> None:
    play(World(plan=plan), script, local_outcomes)


@settings(max_examples=300, deadline=None)
@given(
    plans(),
    st.lists(moves, max_size=40),
    st.lists(st.sampled_from(list(ReplyOutcome)), min_size=1, max_size=5),
)
def test_every_saga_ends_completed_or_compensated_once_the_world_behaves(
    plan: Plan, chaos: list[object], local_outcomes: list[ReplyOutcome]
) -> None:
    world = World(plan=plan)
    play(world, chaos, local_outcomes)
    for _ in range(500):
        s = world.state
        if s.status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED):
            break
        if s.status in (SagaStatus.COMPENSATION_FAILED, SagaStatus.FAILED):
            world.feed(Retry(), ReplyOutcome.SUCCESS)
        elif s.wait == WaitKind.REPLY and s.step is not None and s.phase is not None:
            world.feed(Reply(step=s.step, phase=s.phase, attempt=s.attempt, outcome=S), S)
        else:
            assert s.due is not None
            world.now = max(world.now, s.due)
            world.feed(Tick(), S)
    assert world.state.status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED)
    if world.state.status == SagaStatus.COMPLETED:
        assert not world.compensations
