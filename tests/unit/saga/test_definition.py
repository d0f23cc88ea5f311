"""Saga definitions: validation with clear messages, the plan, backoff, payloads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import BaseModel

from eventyard.saga import (
    Backoff,
    Command,
    DefinitionError,
    InvalidSagaData,
    Local,
    RetryPolicy,
    SagaDefinition,
    Step,
)


class Data(BaseModel):
    n: int


def cmd(name: str = "Do") -> Command[Data]:
    return Command(participant="p", name=name)


def test_the_plan_describes_each_step() -> None:
    saga = SagaDefinition(
        name="s",
        data=Data,
        steps=[
            Step(name="a", action=cmd(), compensation=cmd("Undo")),
            Step(name="b", action=Local(run=lambda _s, d: d), pivot=True),
            Step(name="c", action=cmd()),
        ],
    )
    a, b, c = saga.plan.steps
    assert saga.plan.pivot == 1
    assert (a.compensable, a.local, a.retriable, a.retry.max_attempts) == (True, False, False, 3)
    assert (b.compensable, b.local, b.retriable) == (False, True, False)
    assert (c.retriable, c.retry.max_attempts) == (True, None)  # after the pivot: until it works
    assert saga.key == ("s", 1)
    assert saga.participants() == frozenset({"p"})
    assert saga.plan.index("c") == 2


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "at least one step"),
        ([Step(name="a", action=cmd()), Step(name="a", action=cmd())], "two steps are called a"),
        (
            [Step(name="a", action=cmd(), pivot=True), Step(name="b", action=cmd(), pivot=True)],
            "only one step may be the pivot, not a, b",
        ),
        (
            [
                Step(name="a", action=cmd(), pivot=True),
                Step(name="b", action=cmd(), compensation=cmd("Undo")),
            ],
            "step b: steps after the pivot (a) are retried",
        ),
        ([Step(name="a b", action=cmd())], "step name 'a b'"),
        ([Step(name="a", action=Command(participant="", name="X"))], "participant ''"),
        ([Step(name="a", action=cmd(), deadline=timedelta(0))], "deadline must be positive"),
    ],
)
def test_bad_definitions_are_refused_naming_the_step(steps: list[Step[Data]], message: str) -> None:
    with pytest.raises(DefinitionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SagaDefinition(name="s", data=Data, steps=steps)


def test_bad_versions_names_and_models_are_refused() -> None:
    with pytest.raises(DefinitionError, match="version"):
        SagaDefinition(name="s", version=0, data=Data, steps=[Step(name="a", action=cmd())])
    with pytest.raises(DefinitionError, match="saga name"):
        SagaDefinition(name="", data=Data, steps=[Step(name="a", action=cmd())])
    with pytest.raises(DefinitionError, match="pydantic"):
        SagaDefinition(name="s", data=dict, steps=[Step(name="a", action=cmd())])  # type: ignore[misc]
    with pytest.raises(DefinitionError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(DefinitionError, match="jitter"):
        Backoff(jitter=2)


def test_data_is_validated_with_the_definitions_model() -> None:
    saga = SagaDefinition(name="s", data=Data, steps=[Step(name="a", action=cmd())])
    assert saga.load({"n": "3"}) == Data(n=3)
    with pytest.raises(InvalidSagaData, match="does not fit Data"):
        saga.load({"n": "three"})


def test_backoff_grows_caps_and_jitters_deterministically() -> None:
    plain = Backoff(initial=timedelta(seconds=1), maximum=timedelta(seconds=5), jitter=0)
    assert [plain.delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]
    jittered = Backoff(initial=timedelta(seconds=1), jitter=0.5)
    delays = {jittered.delay(1, seed=f"saga-{i}").total_seconds() for i in range(50)}
    assert all(0.5 <= d <= 1.5 for d in delays)
    assert len(delays) > 40  # spread
    assert jittered.delay(1, seed="x") == jittered.delay(1, seed="x")  # replayable


def test_command_payloads_come_from_the_data() -> None:
    class Payload(BaseModel):
        amount: int

    assert cmd().build(Data(n=2)) == {"n": 2}
    assert Command[Data](participant="p", name="X", payload=lambda d: {"m": d.n * 2}).build(
        Data(n=2)
    ) == {"m": 4}
    assert Command[Data](participant="p", name="X", payload=lambda d: Payload(amount=d.n)).build(
        Data(n=7)
    ) == {"amount": 7}
