"""The in-memory runtime (eventyard.saga.testing), and through it the driver both runtimes share."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel
from sqlalchemy.orm import Session

from eventyard.saga import (
    Backoff,
    Command,
    CommandEnvelope,
    CommandRejected,
    Local,
    Lock,
    LockConflict,
    LogOutcome,
    OperationRefused,
    Phase,
    RetryPolicy,
    SagaDefinition,
    SagaStatus,
    Step,
    StepFailed,
    UnknownDefinition,
)
from eventyard.saga.testing import InMemorySagaRuntime, Responder, reject, retry_later

FAST = Backoff(initial=timedelta(seconds=1), maximum=timedelta(seconds=8), jitter=0)


class Trip(BaseModel):
    traveller: str
    booked: list[str] = []
    approved: bool = False
    hotel_ref: str | None = None


def book(kind: str, *, pivot: bool = False, compensable: bool = True) -> Step[Trip]:
    return Step(
        name=f"book_{kind}",
        action=Command(
            participant=kind, name=f"Book{kind.title()}", payload=lambda t: {"who": t.traveller}
        ),
        compensation=Command(participant=kind, name=f"Cancel{kind.title()}")
        if compensable
        else None,
        pivot=pivot,
        retry=RetryPolicy(max_attempts=3, backoff=FAST),
        compensation_retry=RetryPolicy(max_attempts=5, backoff=FAST),
        deadline=timedelta(seconds=30),
        on_reply=(lambda t, r: t.model_copy(update={"hotel_ref": r.get("ref")}))
        if kind == "hotel"
        else None,
    )


def approve(_session: Session, trip: Trip) -> Trip:
    return trip.model_copy(update={"approved": True})


closed: list[str] = []


def on_compensated(_session: Session, trip: Trip) -> None:
    closed.append(trip.traveller)


TRIP = SagaDefinition(
    name="trip",
    data=Trip,
    steps=[
        book("flight"),
        book("hotel"),
        book("car", pivot=True),
        Step(name="approve", action=Local(run=approve)),
    ],
    on_compensated=on_compensated,
)
KINDS = ("flight", "hotel", "car")


def booked(kind: str) -> Responder:
    """Books a ``kind`` (a reference made of it and the saga's id)."""
    return lambda c: {"ref": f"{kind}-{c.saga_id.hex[:4]}"}


def runtime_with_all_participants(**overrides: Any) -> InMemorySagaRuntime:
    runtime = InMemorySagaRuntime([TRIP], **overrides)
    for kind in KINDS:
        runtime.respond(kind, f"Book{kind.title()}", booked(kind))
        runtime.respond(kind, f"Cancel{kind.title()}", lambda c: None)
    return runtime


def trail(runtime: InMemorySagaRuntime, saga_id: Any) -> list[tuple[str | None, str | None, str]]:
    return [
        (e.step, None if e.phase is None else e.phase.value, e.outcome.value)
        for e in runtime.log(saga_id)
        if e.outcome in (LogOutcome.DISPATCHED, LogOutcome.SUCCEEDED, LogOutcome.FAILED)
    ]


def test_the_happy_path_completes_and_keeps_reply_data() -> None:
    runtime = runtime_with_all_participants()
    saga_id = runtime.start(TRIP, Trip(traveller="ada"))
    runtime.run()
    assert runtime.status(saga_id) == SagaStatus.COMPLETED
    trip = runtime.data(saga_id, Trip)
    assert trip.approved
    assert trip.hotel_ref == f"hotel-{saga_id.hex[:4]}"
    instance = runtime.instance(saga_id)
    assert instance.step_status == {
        "book_flight": "SUCCEEDED",
        "book_hotel": "SUCCEEDED",
        "book_car": "SUCCEEDED",
        "approve": "SUCCEEDED",
    }
    assert instance.finished_at is not None
    assert [c.envelope.name for c in runtime.sent] == ["BookFlight", "BookHotel", "BookCar"]
    assert runtime.sent[0].envelope.payload == {"who": "ada"}


@pytest.mark.parametrize("failing", range(3))
def test_a_failure_at_each_step_compensates_exactly_the_earlier_steps_in_reverse(
    failing: int,
) -> None:
    runtime = runtime_with_all_participants()
    kind = KINDS[failing]
    runtime.respond(kind, f"Book{kind.title()}", reject(f"no {kind} left"))
    saga_id = runtime.start(TRIP, Trip(traveller="bob"))
    runtime.run()
    assert runtime.status(saga_id) == SagaStatus.COMPENSATED
    compensations = [
        c.envelope.name for c in runtime.sent if c.envelope.phase == Phase.COMPENSATION
    ]
    assert compensations == [f"Cancel{k.title()}" for k in reversed(KINDS[:failing])]
    assert runtime.instance(saga_id).reason == f"step book_{kind} failed: no {kind} left"
    assert "bob" in closed


def test_a_step_after_the_pivot_is_retried_until_it_succeeds() -> None:
    calls = {"n": 0}

    def flaky(_session: Session, trip: Trip) -> Trip:
        calls["n"] += 1
        if calls["n"] < 4:
            raise RuntimeError("the database hiccuped")
        return trip.model_copy(update={"approved": True})

    saga = SagaDefinition(
        name="trip",
        version=2,
        data=Trip,
        steps=[
            book("flight", pivot=True),
            Step(
                name="approve",
                action=Local(run=flaky),
                retry=RetryPolicy(max_attempts=None, backoff=FAST),
            ),
        ],
    )
    runtime = InMemorySagaRuntime([saga])
    runtime.respond("flight", "BookFlight", lambda c: None)
    saga_id = runtime.start(saga, {"traveller": "cy"})
    runtime.settle()
    assert runtime.status(saga_id) == SagaStatus.COMPLETED
    retries = [e for e in runtime.log(saga_id) if e.outcome == LogOutcome.RETRY]
    assert [e.detail for e in retries] == ["RuntimeError: the database hiccuped"] * 3


def test_a_local_step_failure_compensates() -> None:
    def refuse(_session: Session, _trip: Trip) -> Trip:
        raise StepFailed("the traveller is blocked")

    saga = SagaDefinition(
        name="trip",
        version=3,
        data=Trip,
        steps=[book("flight"), Step(name="check", action=Local(run=refuse))],
    )
    runtime = InMemorySagaRuntime([saga])
    runtime.respond("flight", "BookFlight", lambda c: None)
    runtime.respond("flight", "CancelFlight", lambda c: None)
    saga_id = runtime.start(saga, {"traveller": "di"})
    runtime.run()
    assert runtime.status(saga_id) == SagaStatus.COMPENSATED
    assert trail(runtime, saga_id)[-3:] == [
        ("check", "action", "FAILED"),
        ("book_flight", "compensation", "DISPATCHED"),
        ("book_flight", "compensation", "SUCCEEDED"),
    ]


def test_a_timeout_retries_then_succeeds_and_late_replies_are_ignored() -> None:
    runtime = runtime_with_all_participants()
    runtime.silence("hotel")  # the hotel does not answer
    saga_id = runtime.start(TRIP, Trip(traveller="eve"))
    runtime.run()
    (first,) = runtime.outstanding("hotel")
    runtime.advance(timedelta(seconds=31))  # the deadline (30 s), then 1 s of backoff
    assert [c.envelope.attempt for c in runtime.outstanding("hotel")] == [1, 2]
    assert runtime.reply(first.success({"ref": "late"})) is False  # attempt 1 is not awaited
    second = runtime.outstanding("hotel")[-1]
    assert runtime.reply(second.success({"ref": "h2"})) is True
    assert runtime.reply(second.success({"ref": "again"})) is False  # a duplicate
    runtime.run()
    assert runtime.status(saga_id) == SagaStatus.COMPLETED
    assert runtime.data(saga_id, Trip).hotel_ref == "h2"
    ignored = [e for e in runtime.log(saga_id) if e.outcome == LogOutcome.IGNORED]
    assert [e.detail for e in ignored] == [
        "waiting for attempt 2, not 1",
        "waiting for book_car (action), not book_hotel (action)",
    ]


def test_a_compensation_failing_three_times_then_succeeding_compensates() -> None:
    runtime = runtime_with_all_participants()
    runtime.respond("car", "BookCar", reject("no car"))
    runtime.respond(
        "hotel", "CancelHotel", retry_later("the hotel system is down", times=3)(lambda c: None)
    )
    saga_id = runtime.start(TRIP, Trip(traveller="fay"))
    runtime.settle()
    assert runtime.status(saga_id) == SagaStatus.COMPENSATED
    hotel = [
        (e.attempt, e.outcome)
        for e in runtime.log(saga_id)
        if e.step == "book_hotel"
        and e.phase == Phase.COMPENSATION
        and e.outcome in (LogOutcome.FAILED, LogOutcome.SUCCEEDED)
    ]
    assert hotel == [
        (1, LogOutcome.FAILED),
        (2, LogOutcome.FAILED),
        (3, LogOutcome.FAILED),
        (4, LogOutcome.SUCCEEDED),
    ]


def test_a_compensation_that_never_succeeds_waits_for_an_operator() -> None:
    runtime = runtime_with_all_participants()
    runtime.respond("car", "BookCar", reject("no car"))
    runtime.respond("hotel", "CancelHotel", reject("the hotel system is down"))
    saga_id = runtime.start(TRIP, Trip(traveller="gus"))
    runtime.settle()
    instance = runtime.instance(saga_id)
    assert instance.status == SagaStatus.COMPENSATION_FAILED
    assert instance.reason == (
        "step book_hotel (compensation) gave up after 5 attempts: the hotel system is down"
    )
    assert instance.wake_at is None
    runtime.respond("hotel", "CancelHotel", lambda c: None)  # fixed
    runtime.retry(saga_id)
    runtime.run()
    assert runtime.status(saga_id) == SagaStatus.COMPENSATED
    assert [c.envelope.name for c in runtime.sent if c.envelope.phase == Phase.COMPENSATION][
        -1
    ] == ("CancelFlight")


def test_abort_before_the_pivot_compensates_and_after_it_is_refused() -> None:
    runtime = runtime_with_all_participants()
    runtime.silence("hotel")
    saga_id = runtime.start(TRIP, Trip(traveller="hal"))
    runtime.run()
    runtime.respond("hotel", "CancelHotel", lambda c: None)
    runtime.abort(saga_id, "changed their mind")
    runtime.run()
    assert runtime.status(saga_id) == SagaStatus.COMPENSATED
    assert runtime.instance(saga_id).reason == "changed their mind"
    done = runtime_with_all_participants()
    other = done.start(TRIP, Trip(traveller="ivy"))
    done.run()
    with pytest.raises(OperationRefused, match="a COMPLETED saga cannot be aborted"):
        done.abort(other)
    with pytest.raises(OperationRefused, match="has no step to retry"):
        done.retry(other)


def test_semantic_locks_make_a_second_saga_wait_until_the_first_ends() -> None:
    locked = SagaDefinition(
        name="trip",
        version=4,
        data=Trip,
        steps=[
            Step(
                name="book_hotel",
                action=Command(participant="hotel", name="BookHotel"),
                compensation=Command(participant="hotel", name="CancelHotel"),
                lock=Lock(resource=lambda t: f"traveller:{t.traveller}"),
                retry=RetryPolicy(max_attempts=10, backoff=FAST),
            ),
            Step(name="book_car", action=Command(participant="car", name="BookCar")),
        ],
    )
    runtime = InMemorySagaRuntime([locked])
    runtime.respond("hotel", "BookHotel", lambda c: None)
    first = runtime.start(locked, {"traveller": "jo"})
    runtime.run()
    assert runtime.locks == {"traveller:jo": (first, "hotel", "book_hotel")}
    second = runtime.start(locked, {"traveller": "jo"})
    runtime.run()
    retry = [e for e in runtime.log(second) if e.outcome == LogOutcome.RETRY]
    assert retry
    assert retry[0].detail == f"traveller:jo is pending in saga {first}"
    runtime.respond("car", "BookCar", lambda c: None)
    runtime.run()  # the first saga completes and releases its lock
    assert runtime.status(first) == SagaStatus.COMPLETED
    assert ("hotel", first) in runtime.releases
    runtime.settle()
    assert runtime.status(second) == SagaStatus.COMPLETED
    assert runtime.locks == {}


def test_a_rejecting_lock_fails_the_step_at_once() -> None:
    saga = SagaDefinition(
        name="trip",
        version=5,
        data=Trip,
        steps=[
            Step(
                name="hold",
                action=Local(run=lambda _s, t: t),
                lock=Lock(resource=lambda t: "the-one-room", on_conflict=LockConflict.REJECT),
            ),
            Step(name="book_car", action=Command(participant="car", name="BookCar")),
        ],
    )
    runtime = InMemorySagaRuntime([saga])
    first = runtime.start(saga, {"traveller": "a"})
    second = runtime.start(saga, {"traveller": "b"})
    assert runtime.status(first) == SagaStatus.RUNNING
    assert runtime.status(second) == SagaStatus.COMPENSATED
    assert (
        runtime.instance(second).reason
        == f"step hold failed: the-one-room is locked by saga {first}"
    )


def test_instances_keep_their_version() -> None:
    v1 = SagaDefinition(name="trip", version=1, data=Trip, steps=[book("flight")])
    v2 = SagaDefinition(name="trip", version=2, data=Trip, steps=[book("flight"), book("hotel")])
    runtime = InMemorySagaRuntime([v1, v2])
    runtime.respond("flight", "BookFlight", lambda c: None)
    runtime.respond("hotel", "BookHotel", lambda c: None)
    old = runtime.start(v1, {"traveller": "k"})
    new = runtime.start(v2, {"traveller": "l"})
    runtime.run()
    assert runtime.instance(old).definition_version == 1
    assert {c.envelope.name for c in runtime.sent if c.envelope.saga_id == old} == {"BookFlight"}
    assert [c.envelope.name for c in runtime.sent if c.envelope.saga_id == new] == [
        "BookFlight",
        "BookHotel",
    ]
    assert runtime.sent[0].envelope.saga_version == 1
    v3 = SagaDefinition(name="trip", version=3, data=Trip, steps=[book("flight")])
    with pytest.raises(UnknownDefinition, match="register trip v3"):
        runtime.start(v3, {"traveller": "m"})


def test_starting_twice_with_one_id_starts_once() -> None:
    runtime = runtime_with_all_participants()
    first = runtime.start(TRIP, Trip(traveller="n"))
    assert runtime.start(TRIP, Trip(traveller="n"), saga_id=first) == first
    assert len(runtime.sent) == 1


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def test_one_trace_per_saga_with_a_span_per_step_and_compensation(spans: Any) -> None:
    provider, exporter = spans
    runtime = runtime_with_all_participants(tracer_provider=provider)
    runtime.respond("car", "BookCar", reject("no car"))
    with provider.get_tracer("test").start_as_current_span("POST /trips"):
        saga_id = runtime.start(TRIP, Trip(traveller="olga"))
    runtime.run()
    finished = exporter.get_finished_spans()
    names = [s.name for s in finished]
    assert {s.context.trace_id for s in finished} == {finished[0].context.trace_id}
    assert names.count("saga trip") == 1
    for name in (
        "saga.step book_flight",
        "saga.step book_hotel",
        "saga.step book_car",
        "saga.compensate book_hotel",
        "saga.compensate book_flight",
        "saga.compensated",
    ):
        assert names.count(name) == 1, name
    root = next(s for s in finished if s.name == "saga trip")
    step = next(s for s in finished if s.name == "saga.compensate book_hotel")
    assert step.parent is not None
    assert step.parent.span_id == root.context.span_id
    assert step.attributes is not None
    assert step.attributes["saga.phase"] == "compensation"
    trace_id = format(root.context.trace_id, "032x")
    assert {e.trace_id for e in runtime.log(saga_id)} == {trace_id}
    assert runtime.instance(saga_id).trace_id == trace_id


def test_fake_participants_behave_like_the_participant_helper() -> None:
    runtime = runtime_with_all_participants()
    runtime.silence("hotel")
    saga_id = runtime.start(TRIP, Trip(traveller="pat"))
    runtime.run()
    runtime.abort(saga_id)  # the hotel booking is in doubt: its compensation is sent
    calls: list[CommandEnvelope] = []

    def record(command: CommandEnvelope) -> None:
        calls.append(command)

    runtime.respond("hotel", "BookHotel", record)
    runtime.respond("hotel", "CancelHotel", record)
    # The compensation reaches the hotel before the (late) booking: the booking is refused.
    (book_cmd, cancel_cmd) = runtime.outstanding("hotel")
    assert runtime.answer(cancel_cmd) is not None
    late = runtime.answer(book_cmd)
    assert late is not None
    assert late.reason == "the step was compensated before its action arrived"
    assert calls == []  # neither handler ran: nothing to undo, nothing to do


def test_command_rejected_can_ask_for_a_retry() -> None:
    runtime = runtime_with_all_participants()
    runtime.respond("flight", "BookFlight", retry_later("busy", times=2)(lambda c: None))
    saga_id = runtime.start(TRIP, Trip(traveller="quinn"))
    runtime.settle()
    assert runtime.status(saga_id) == SagaStatus.COMPLETED
    flight = [
        e.attempt
        for e in runtime.log(saga_id)
        if e.step == "book_flight" and e.outcome == LogOutcome.DISPATCHED
    ]
    assert flight == [1, 2, 3]
    with pytest.raises(CommandRejected):
        reject("x")(runtime.sent[0].envelope)
