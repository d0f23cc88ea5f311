"""Hypothesis strategies for the saga state machine: plans, and what the world does to a saga."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from hypothesis import strategies as st

from eventyard.saga import Backoff, Phase, Plan, ReplyOutcome, RetryPolicy, StepSpec

NO_JITTER = Backoff(initial=timedelta(seconds=1), maximum=timedelta(seconds=4), jitter=0.0)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """1 to 5 steps: local or command, with or without compensation, maybe a pivot."""
    n = draw(st.integers(1, 5))
    pivot = draw(st.none() | st.integers(0, n - 1))
    specs = []
    for i in range(n):
        retriable = pivot is not None and i > pivot
        compensable = not retriable and draw(st.booleans())
        attempts = draw(st.none()) if retriable and draw(st.booleans()) else draw(st.integers(1, 3))
        specs.append(
            StepSpec(
                index=i,
                name=f"s{i}",
                local=draw(st.booleans()),
                compensable=compensable,
                compensation_local=compensable and draw(st.booleans()),
                retriable=retriable,
                retry=RetryPolicy(max_attempts=attempts, backoff=NO_JITTER),
                compensation_retry=RetryPolicy(
                    max_attempts=draw(st.integers(1, 3)), backoff=NO_JITTER
                ),
                deadline=timedelta(seconds=draw(st.integers(1, 10))),
            )
        )
    return Plan(steps=tuple(specs), pivot=pivot)


outcomes = st.sampled_from(list(ReplyOutcome))


@dataclass(frozen=True)
class Deliver:
    """Deliver a reply: to one of the attempts sent so far (``pick`` indexes them, modulo), or
    to an arbitrary, possibly never-sent attempt when ``forge`` is set."""

    pick: int
    outcome: ReplyOutcome
    forge: tuple[int, Phase, int] | None = None


@dataclass(frozen=True)
class Redeliver:
    """Deliver again a reply that was delivered before (a duplicate)."""

    pick: int


@dataclass(frozen=True)
class Wait:
    """Let time pass and fire the timer."""

    seconds: int


@dataclass(frozen=True)
class Operator:
    """An operator's abort or retry."""

    abort: bool


moves = st.one_of(
    st.builds(Deliver, pick=st.integers(0, 50), outcome=outcomes),
    st.builds(
        Deliver,
        pick=st.just(0),
        outcome=outcomes,
        forge=st.tuples(st.integers(-1, 6), st.sampled_from(list(Phase)), st.integers(0, 5)),
    ),
    st.builds(Redeliver, pick=st.integers(0, 50)),
    st.builds(Wait, seconds=st.integers(0, 12)),
    st.builds(Operator, abort=st.booleans()),
)
