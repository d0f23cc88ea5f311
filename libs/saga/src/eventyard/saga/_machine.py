"""The saga state machine: pure, no I/O, no clock, no randomness.

:func:`decide` takes a :class:`~eventyard.saga.Plan`, the current :class:`MachineState`, one
input (:class:`Begin`, :class:`Reply`, :class:`Tick`, :class:`Abort`, :class:`Retry`) and the
time, and returns the next state with the effects the runtime must carry out (dispatch a
command or run a local step, append log lines, finish). The runtimes (PostgreSQL and in-memory)
persist the state and the effects in one transaction.

Rules:

- A reply is accepted only while the machine waits for exactly its ``(step, phase, attempt)``;
  anything else (a duplicate, a late reply of an earlier attempt, a reply for another step or
  phase) is ignored, so no reply moves a saga twice.
- Before the pivot has succeeded, a business failure compensates the completed steps in reverse
  order; a step that ran out of attempts without a definite answer may have taken effect, so it
  is compensated too (compensations must accept an action that never happened).
- After the pivot, steps are retried (by default without limit) and never compensated; one that
  runs out of attempts leaves the saga ``FAILED`` for an operator.
- A compensation is retried with backoff; when it runs out of attempts the saga is
  ``COMPENSATION_FAILED`` until an operator retries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from eventyard.saga._definition import Plan, RetryPolicy, StepSpec
from eventyard.saga._model import LogOutcome, Phase, ReplyOutcome, SagaStatus

__all__ = [
    "Abort",
    "Begin",
    "Decision",
    "Dispatch",
    "Effect",
    "Finish",
    "Input",
    "LogLine",
    "MachineState",
    "Reply",
    "Retry",
    "Tick",
    "WaitKind",
    "decide",
    "initial_state",
]


class WaitKind(StrEnum):
    """What a saga waits for: its start, a local step's run, a reply, or a retry's time."""

    START = "start"
    LOCAL = "local"
    REPLY = "reply"
    BACKOFF = "backoff"


@dataclass(frozen=True, kw_only=True)
class MachineState:
    """Everything the machine knows about one instance (stored as JSON with it)."""

    status: SagaStatus
    step: int | None = None
    phase: Phase | None = None
    attempt: int = 0
    budget_from: int = 1
    wait: WaitKind | None = None
    due: datetime | None = None
    completed: tuple[int, ...] = ()
    pending: tuple[int, ...] = ()
    compensated: tuple[int, ...] = ()
    pivot_passed: bool = False
    reason: str | None = None
    dispatched_at: datetime | None = None

    @property
    def active(self) -> bool:
        """True while the orchestrator drives the saga by itself."""
        return self.status in (SagaStatus.STARTED, SagaStatus.RUNNING, SagaStatus.COMPENSATING)

    def awaits(self, step: int, phase: Phase, attempt: int) -> bool:
        """True if a reply for exactly this attempt would be accepted now."""
        return (
            self.active
            and self.wait in (WaitKind.REPLY, WaitKind.LOCAL)
            and self.step == step
            and self.phase == phase
            and self.attempt == attempt
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON stored with the instance."""
        return {
            "status": self.status.value,
            "step": self.step,
            "phase": None if self.phase is None else self.phase.value,
            "attempt": self.attempt,
            "budget_from": self.budget_from,
            "wait": None if self.wait is None else self.wait.value,
            "due": None if self.due is None else self.due.isoformat(),
            "completed": list(self.completed),
            "pending": list(self.pending),
            "compensated": list(self.compensated),
            "pivot_passed": self.pivot_passed,
            "reason": self.reason,
            "dispatched_at": None if self.dispatched_at is None else self.dispatched_at.isoformat(),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> MachineState:
        """Read what :meth:`to_json` wrote."""

        def when(key: str) -> datetime | None:
            raw = value.get(key)
            return None if raw is None else datetime.fromisoformat(str(raw))

        return cls(
            status=SagaStatus(value["status"]),
            step=value.get("step"),
            phase=None if value.get("phase") is None else Phase(value["phase"]),
            attempt=int(value.get("attempt", 0)),
            budget_from=int(value.get("budget_from", 1)),
            wait=None if value.get("wait") is None else WaitKind(value["wait"]),
            due=when("due"),
            completed=tuple(value.get("completed", ())),
            pending=tuple(value.get("pending", ())),
            compensated=tuple(value.get("compensated", ())),
            pivot_passed=bool(value.get("pivot_passed", False)),
            reason=value.get("reason"),
            dispatched_at=when("dispatched_at"),
        )


# ------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True, kw_only=True)
class Begin:
    """Start the first step (the saga was created ``STARTED``)."""


@dataclass(frozen=True, kw_only=True)
class Reply:
    """The outcome of one attempt: a participant's reply, or a local step's result."""

    step: int
    phase: Phase
    attempt: int
    outcome: ReplyOutcome
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class Tick:
    """The saga's timer fired (its deadline or retry time, ``due``, has come)."""


@dataclass(frozen=True, kw_only=True)
class Abort:
    """An operator asks to stop and compensate."""

    reason: str = "aborted by an operator"


@dataclass(frozen=True, kw_only=True)
class Retry:
    """An operator asks to retry the failed (or backing-off) step now, with a fresh budget."""


Input = Begin | Reply | Tick | Abort | Retry


# ------------------------------------------------------------------------------------ effects


@dataclass(frozen=True, kw_only=True)
class Dispatch:
    """Send attempt ``attempt`` of a step's action or compensation (or run it, if local)."""

    step: int
    phase: Phase
    attempt: int
    local: bool


@dataclass(frozen=True, kw_only=True)
class LogLine:
    """Append a line to the step log."""

    outcome: LogOutcome
    step: int | None = None
    phase: Phase | None = None
    attempt: int | None = None
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class Finish:
    """The saga reached ``status`` (COMPLETED or COMPENSATED): release locks, run the hook."""

    status: SagaStatus


Effect = Dispatch | LogLine | Finish


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The next state, what to do, and whether the input was accepted (False: ignored)."""

    state: MachineState
    effects: tuple[Effect, ...] = ()
    accepted: bool = True


def initial_state(now: datetime) -> MachineState:
    """A new saga: ``STARTED``, due at once."""
    return MachineState(status=SagaStatus.STARTED, wait=WaitKind.START, due=now)


# ------------------------------------------------------------------------------------ the rules


@dataclass(kw_only=True)
class _Builder:
    plan: Plan
    now: datetime
    seed: str
    state: MachineState
    effects: list[Effect] = field(default_factory=list)

    def log(self, outcome: LogOutcome, *, detail: str | None = None, current: bool = True) -> None:
        s = self.state
        if current and s.step is not None:
            self.effects.append(
                LogLine(
                    outcome=outcome, step=s.step, phase=s.phase, attempt=s.attempt, detail=detail
                )
            )
        else:
            self.effects.append(LogLine(outcome=outcome, detail=detail))

    def spec(self) -> StepSpec:
        assert self.state.step is not None
        return self.plan.steps[self.state.step]

    def policy(self) -> RetryPolicy:
        spec = self.spec()
        return spec.compensation_retry if self.state.phase == Phase.COMPENSATION else spec.retry

    # -- moving

    def dispatch(self, step: int, phase: Phase, attempt: int, *, budget_from: int) -> None:
        spec = self.plan.steps[step]
        local = spec.compensation_local if phase == Phase.COMPENSATION else spec.local
        due: datetime | None
        if local:
            wait, due = WaitKind.LOCAL, self.now
        else:
            wait = WaitKind.REPLY
            due = None if spec.deadline is None else self.now + spec.deadline
        status = SagaStatus.COMPENSATING if phase == Phase.COMPENSATION else SagaStatus.RUNNING
        self.state = replace(
            self.state,
            status=status,
            step=step,
            phase=phase,
            attempt=attempt,
            budget_from=budget_from,
            wait=wait,
            due=due,
            dispatched_at=self.now,
        )
        self.effects.append(Dispatch(step=step, phase=phase, attempt=attempt, local=local))
        self.log(LogOutcome.DISPATCHED)

    def forward(self, step: int) -> None:
        if step >= len(self.plan.steps):
            self.finish(SagaStatus.COMPLETED)
        else:
            self.dispatch(step, Phase.ACTION, 1, budget_from=1)

    def compensate(self, reason: str, *, include_current: bool) -> None:
        s = self.state
        order = list(reversed(s.completed))
        if include_current and s.step is not None and s.step not in s.completed:
            order.insert(0, s.step)
        pending = tuple(i for i in order if self.plan.steps[i].compensable)
        self.state = replace(s, status=SagaStatus.COMPENSATING, pending=pending, reason=reason)
        self.next_compensation()

    def next_compensation(self) -> None:
        s = self.state
        if not s.pending:
            self.finish(SagaStatus.COMPENSATED)
            return
        step, rest = s.pending[0], s.pending[1:]
        self.state = replace(s, pending=rest)
        self.dispatch(step, Phase.COMPENSATION, 1, budget_from=1)

    def finish(self, status: SagaStatus) -> None:
        self.state = replace(
            self.state,
            status=status,
            step=None,
            phase=None,
            wait=None,
            due=None,
            dispatched_at=None,
        )
        self.effects.append(LogLine(outcome=LogOutcome(status.value), detail=self.state.reason))
        self.effects.append(Finish(status=status))

    def park(self, status: SagaStatus, reason: str) -> None:
        """Stop driving: an operator must act (COMPENSATION_FAILED or FAILED)."""
        self.state = replace(self.state, status=status, wait=None, due=None, reason=reason)

    def backoff_or_give_up(self, why: str) -> None:
        """The current attempt did not succeed (not a business failure): retry or give up."""
        s = self.state
        policy = self.policy()
        used = s.attempt - s.budget_from + 1
        if policy.max_attempts is None or used < policy.max_attempts:
            seed = f"{self.seed}:{s.step}:{s.phase}"
            delay = policy.backoff.delay(used, seed=seed)
            self.state = replace(s, wait=WaitKind.BACKOFF, due=self.now + delay)
            self.log(
                LogOutcome.RETRY_SCHEDULED,
                detail=f"attempt {s.attempt + 1} in {delay.total_seconds():.3f} s",
            )
            return
        spec = self.spec()
        summary = f"step {spec.name} ({s.phase}) gave up after {used} attempts: {why}"
        self.log(LogOutcome.GAVE_UP, detail=why)
        if s.phase == Phase.COMPENSATION:
            self.park(SagaStatus.COMPENSATION_FAILED, summary)
            self.log(LogOutcome.COMPENSATION_FAILED, detail=summary)
        elif spec.retriable:
            self.park(SagaStatus.FAILED, summary)
            self.log(LogOutcome.STEP_FAILED, detail=summary)
        else:
            # No definite answer: the action may have taken effect, so it is compensated too.
            self.compensate(summary, include_current=True)

    # -- inputs

    def on_reply(self, reply: Reply) -> None:
        s = self.state
        spec = self.spec()
        if reply.outcome == ReplyOutcome.SUCCESS:
            self.log(LogOutcome.SUCCEEDED, detail=reply.reason)
            if reply.phase == Phase.COMPENSATION:
                self.state = replace(s, compensated=(*s.compensated, reply.step))
                self.next_compensation()
                return
            passed = s.pivot_passed or self.plan.pivot == reply.step
            self.state = replace(s, completed=(*s.completed, reply.step), pivot_passed=passed)
            self.forward(reply.step + 1)
            return
        why = reply.reason or reply.outcome.value
        business = reply.outcome == ReplyOutcome.FAILURE
        self.log(LogOutcome.FAILED if business else LogOutcome.RETRY, detail=why)
        if business and reply.phase == Phase.ACTION and not spec.retriable:
            self.compensate(f"step {spec.name} failed: {why}", include_current=False)
            return
        self.backoff_or_give_up(why)

    def on_tick(self) -> bool:
        s = self.state
        if not s.active or s.due is None or self.now < s.due:
            return False
        if s.wait == WaitKind.START:
            self.forward(0)
            return True
        if s.step is None or s.phase is None:
            return False
        if s.wait == WaitKind.LOCAL:
            self.dispatch(s.step, s.phase, s.attempt, budget_from=s.budget_from)
        elif s.wait == WaitKind.BACKOFF:
            self.dispatch(s.step, s.phase, s.attempt + 1, budget_from=s.budget_from)
        elif s.wait == WaitKind.REPLY:
            waited = (self.now - s.dispatched_at) if s.dispatched_at else timedelta(0)
            self.log(LogOutcome.TIMED_OUT, detail=f"no reply in {waited.total_seconds():.3f} s")
            self.backoff_or_give_up("no reply before the deadline")
        else:
            return False
        return True

    def on_abort(self, abort: Abort) -> bool:
        s = self.state
        if s.status == SagaStatus.STARTED:
            self.state = replace(s, reason=abort.reason)
            self.log(LogOutcome.ABORTED, detail=abort.reason, current=False)
            self.finish(SagaStatus.COMPENSATED)
            return True
        if s.status != SagaStatus.RUNNING or s.pivot_passed:
            why = (
                f"a {s.status.value} saga cannot be aborted"
                if s.status != SagaStatus.RUNNING
                else "the pivot has succeeded: the saga only goes forward now; retry instead"
            )
            self.log(LogOutcome.REFUSED, detail=f"abort refused: {why}", current=False)
            return False
        self.log(LogOutcome.ABORTED, detail=abort.reason)
        self.compensate(abort.reason, include_current=True)
        return True

    def on_retry(self) -> bool:
        s = self.state
        if (
            s.step is None
            or s.phase is None
            or s.status
            in (
                SagaStatus.COMPLETED,
                SagaStatus.COMPENSATED,
                SagaStatus.STARTED,
            )
        ):
            self.log(
                LogOutcome.REFUSED,
                detail=f"retry refused: a {s.status.value} saga has no step to retry",
                current=False,
            )
            return False
        parked = s.status in (SagaStatus.COMPENSATION_FAILED, SagaStatus.FAILED)
        self.log(LogOutcome.RETRY_REQUESTED)
        budget = s.attempt + 1 if parked else s.budget_from
        self.dispatch(s.step, s.phase, s.attempt + 1, budget_from=budget)
        return True


def decide(plan: Plan, state: MachineState, event: Input, *, now: datetime, seed: str) -> Decision:
    """The next state and effects for ``event`` at ``now``; ``seed`` (the saga id) makes backoff
    jitter deterministic. Never raises for a well-formed state: bad inputs are ignored."""
    b = _Builder(plan=plan, now=now, seed=seed, state=state)
    moved: bool
    if isinstance(event, Begin):
        moved = state.status == SagaStatus.STARTED
        if moved:
            b.effects.append(LogLine(outcome=LogOutcome.STARTED))
            b.forward(0)
    elif isinstance(event, Reply):
        moved = 0 <= event.step < len(plan.steps) and state.awaits(
            event.step, event.phase, event.attempt
        )
        if moved:
            b.on_reply(event)
    elif isinstance(event, Tick):
        moved = b.on_tick()
    elif isinstance(event, Abort):
        moved = b.on_abort(event)
    else:
        moved = b.on_retry()
    if not moved:
        # Only refusals are logged; the state is untouched.
        return Decision(state=state, effects=tuple(b.effects), accepted=False)
    return Decision(state=b.state, effects=tuple(b.effects))
