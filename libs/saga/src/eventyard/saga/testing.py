"""Unit-test saga definitions without PostgreSQL or Kafka.

:class:`InMemorySagaRuntime` runs definitions on the same state machine and driver as the
:class:`~eventyard.saga.Orchestrator`, with commands kept in memory, a :class:`FakeClock` for
deadlines and backoff, and optional fake participants that behave like
:class:`~eventyard.saga.Participant` (idempotent per saga, step and phase; a late action after
its compensation is refused; a compensation of an action that never happened is a no-op)::

    runtime = InMemorySagaRuntime([order_saga])
    runtime.respond("customers", "ReserveCredit", lambda command: {"reservation": "r-1"})
    runtime.respond("inventory", "ReserveStock", reject("out of stock"))
    saga_id = runtime.start(order_saga, OrderData(...))
    runtime.run()
    assert runtime.status(saga_id) is SagaStatus.COMPENSATED
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from opentelemetry.trace import TracerProvider
from pydantic import BaseModel
from sqlalchemy.orm import Session

from eventyard.saga._core import Advance, Driver, LocalResult, Ports, Registry, SagaRecord
from eventyard.saga._definition import Local, LockConflict, SagaDefinition, Step
from eventyard.saga._exceptions import (
    CommandRejected,
    OperationRefused,
    StepFailed,
    StepRetry,
    UnknownDefinition,
    UnknownSaga,
)
from eventyard.saga._machine import Abort, Retry, Tick, initial_state
from eventyard.saga._model import (
    CommandEnvelope,
    LogEntry,
    Phase,
    ReplyEnvelope,
    ReplyOutcome,
    SagaInstance,
    SagaStatus,
)
from eventyard.saga._tracing import saga_span
from eventyard.telemetry import current_traceparent, trace_id_of

__all__ = [
    "FakeClock",
    "InMemorySagaRuntime",
    "Responder",
    "SentCommand",
    "reject",
    "retry_later",
]

DataT = TypeVar("DataT", bound=BaseModel)
ModelT = TypeVar("ModelT", bound=BaseModel)

#: A fake participant's handler: the command in, the reply's data out (raise CommandRejected).
Responder = Callable[[CommandEnvelope], Mapping[str, Any] | BaseModel | None]


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self._now

    def now(self) -> datetime:
        """The current fake time."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self._now += delta


def reject(reason: str, *, retryable: bool = False) -> Responder:
    """A responder that refuses every command with ``reason``."""

    def respond(_command: CommandEnvelope) -> None:
        raise CommandRejected(reason, retryable=retryable)

    return respond


def retry_later(reason: str, *, times: int) -> Callable[[Responder], Responder]:
    """Wrap a responder so it refuses (to be retried) the first ``times`` calls per saga, step
    and phase, then answers as the wrapped responder does."""

    def wrap(inner: Responder) -> Responder:
        calls: dict[tuple[uuid.UUID, str, Phase], int] = {}

        def respond(command: CommandEnvelope) -> Mapping[str, Any] | BaseModel | None:
            key = (command.saga_id, command.step, command.phase)
            calls[key] = calls.get(key, 0) + 1
            if calls[key] <= times:
                raise CommandRejected(reason, retryable=True)
            return inner(command)

        return respond

    return wrap


@dataclass(frozen=True, kw_only=True)
class SentCommand:
    """A command the runtime sent, and helpers to answer it."""

    participant: str
    envelope: CommandEnvelope

    def answer(
        self,
        outcome: ReplyOutcome,
        *,
        reason: str | None = None,
        data: Mapping[str, Any] | None = None,
        attempt: int | None = None,
    ) -> ReplyEnvelope:
        """The reply to this command (``attempt`` overrides, to forge a late reply)."""
        e = self.envelope
        return ReplyEnvelope(
            saga_id=e.saga_id,
            saga_type=e.saga_type,
            step=e.step,
            phase=e.phase,
            attempt=e.attempt if attempt is None else attempt,
            outcome=outcome,
            reason=reason,
            data=dict(data or {}),
            participant=self.participant,
        )

    def success(self, data: Mapping[str, Any] | None = None) -> ReplyEnvelope:
        """A success reply."""
        return self.answer(ReplyOutcome.SUCCESS, data=data)

    def failure(self, reason: str) -> ReplyEnvelope:
        """A business-failure reply."""
        return self.answer(ReplyOutcome.FAILURE, reason=reason)

    def retry(self, reason: str) -> ReplyEnvelope:
        """A 'try again later' reply."""
        return self.answer(ReplyOutcome.RETRY, reason=reason)


@dataclass(kw_only=True)
class _Stored:
    record: SagaRecord
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    log: list[LogEntry] = field(default_factory=list)


class _MemoryPorts(Ports):
    def __init__(self, runtime: InMemorySagaRuntime) -> None:
        self._r = runtime

    def send(self, record: SagaRecord, envelope: CommandEnvelope, participant: str) -> None:
        command = SentCommand(participant=participant, envelope=envelope)
        self._r.sent.append(command)
        self._r._queue.append(command)

    def send_release(self, record: SagaRecord, participant: str) -> None:
        self._r.releases.append((participant, record.id))
        for resource, holder in list(self._r.locks.items()):
            if holder[0] == record.id and holder[1] == participant:
                del self._r.locks[resource]

    def run_local(
        self,
        record: SagaRecord,
        step: Step[Any],
        operation: Local[Any],
        *,
        lock: str | None,
        on_conflict: LockConflict,
        phase: Phase,
    ) -> LocalResult:
        if lock is not None:
            holder = self._r.locks.get(lock)
            if holder is not None and holder[0] != record.id:
                outcome = (
                    ReplyOutcome.FAILURE
                    if on_conflict == LockConflict.REJECT
                    else ReplyOutcome.RETRY
                )
                reason = f"{lock} is locked by saga {holder[0]}"
                return LocalResult(outcome=outcome, reason=reason)
        try:
            made = operation.run(self._r.session(), record.data.model_copy(deep=True))
        except StepFailed as error:
            return LocalResult(outcome=ReplyOutcome.FAILURE, reason=error.reason)
        except StepRetry as error:
            return LocalResult(outcome=ReplyOutcome.RETRY, reason=error.reason)
        except Exception as error:  # the step's policy retries it
            reason = f"{type(error).__name__}: {error}"
            return LocalResult(outcome=ReplyOutcome.RETRY, reason=reason)
        if lock is not None:
            self._r.locks[lock] = (record.id, None, step.name)
        if phase == Phase.COMPENSATION:
            for resource, holder in list(self._r.locks.items()):
                if holder == (record.id, None, step.name):
                    del self._r.locks[resource]
        return LocalResult(outcome=ReplyOutcome.SUCCESS, data=made)

    def finish(self, record: SagaRecord, hook: Callable[[Session, Any], None] | None) -> None:
        for resource, holder in list(self._r.locks.items()):
            if holder[0] == record.id and holder[1] is None:
                del self._r.locks[resource]
        if hook is not None:
            hook(self._r.session(), record.data)


@dataclass(kw_only=True)
class _Responders:
    handlers: dict[str, Responder] = field(default_factory=dict)
    done: dict[tuple[uuid.UUID, str, Phase], ReplyEnvelope] = field(default_factory=dict)


class InMemorySagaRuntime:
    """Runs saga definitions in memory, on the orchestrator's own state machine and driver.

    ``session`` makes the SQLAlchemy session local steps and hooks receive (default: an unbound
    ``Session()``, enough for steps that do not touch a database).
    """

    def __init__(
        self,
        definitions: Iterable[SagaDefinition[Any]],
        *,
        clock: FakeClock | None = None,
        session: Callable[[], Session] | None = None,
        reply_channel: str = "saga.replies",
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.registry = Registry(definitions)
        self.clock = clock or FakeClock()
        self.session: Callable[[], Session] = session or Session
        self.sent: list[SentCommand] = []
        self.releases: list[tuple[str, uuid.UUID]] = []
        #: Semantic locks: resource -> (saga id, participant or None for a local step, step).
        self.locks: dict[str, tuple[uuid.UUID, str | None, str]] = {}
        self._queue: list[SentCommand] = []
        self._sagas: dict[uuid.UUID, _Stored] = {}
        self._responders: dict[str, _Responders] = {}
        self._driver = Driver(
            _MemoryPorts(self),
            reply_channel=reply_channel,
            command_channel=lambda participant: f"{participant}.commands",
            tracer_provider=tracer_provider,
        )
        self._tracer_provider = tracer_provider

    # ---------------------------------------------------------------- sagas

    def start(
        self,
        definition: SagaDefinition[DataT],
        data: DataT | Mapping[str, Any],
        *,
        saga_id: uuid.UUID | None = None,
        run_now: bool = True,
    ) -> uuid.UUID:
        """Start a saga (like :meth:`Orchestrator.start`); its id."""
        if not self.registry.has(definition.name, definition.version):
            raise UnknownDefinition(f"register {definition.name} v{definition.version} first")
        sid = saga_id or uuid.uuid4()
        if sid in self._sagas:
            return sid
        now = self.clock()
        with saga_span(
            saga_type=definition.name,
            version=definition.version,
            saga_id=str(sid),
            tracer_provider=self._tracer_provider,
        ):
            traceparent = current_traceparent()
            record = SagaRecord(
                id=sid,
                definition=definition,
                data=definition.load(data),
                machine=initial_state(now),
                traceparent=traceparent,
                trace_id=trace_id_of(traceparent),
            )
            stored = _Stored(record=record, created_at=now, updated_at=now)
            self._sagas[sid] = stored
            if run_now:
                self._apply(stored, self._driver.begin(record, now))
        return sid

    def _stored(self, saga_id: uuid.UUID) -> _Stored:
        try:
            return self._sagas[saga_id]
        except KeyError:
            raise UnknownSaga(f"no saga {saga_id}") from None

    def _apply(self, stored: _Stored, advance: Advance) -> None:
        stored.log.extend(advance.logs)
        if advance.accepted:
            stored.record.version += 1
            stored.updated_at = self.clock()
            if stored.record.status in (SagaStatus.COMPLETED, SagaStatus.COMPENSATED):
                stored.finished_at = self.clock()

    def instance(self, saga_id: uuid.UUID) -> SagaInstance:
        """The saga as the orchestrator would store it."""
        s = self._stored(saga_id)
        r = s.record
        m = r.machine
        return SagaInstance(
            id=r.id,
            type=r.definition.name,
            definition_version=r.definition.version,
            status=m.status,
            current_step=r.step_name(m.step),
            phase=m.phase,
            attempt=m.attempt,
            version=r.version,
            data=r.data_json(),
            wake_at=m.due if m.active else None,
            reason=m.reason,
            trace_id=r.trace_id,
            created_at=s.created_at,
            updated_at=s.updated_at,
            finished_at=s.finished_at,
            step_status=dict(r.step_status),
        )

    def status(self, saga_id: uuid.UUID) -> SagaStatus:
        """The saga's status."""
        return self._stored(saga_id).record.status

    def data(self, saga_id: uuid.UUID, model: type[ModelT]) -> ModelT:
        """The saga's data as ``model``."""
        return model.model_validate(self._stored(saga_id).record.data_json())

    def log(self, saga_id: uuid.UUID) -> list[LogEntry]:
        """The saga's step log."""
        return list(self._stored(saga_id).log)

    def sagas(self) -> list[uuid.UUID]:
        """Every saga started, in order."""
        return list(self._sagas)

    # ---------------------------------------------------------------- replies

    def outstanding(
        self, participant: str | None = None, *, saga_id: uuid.UUID | None = None
    ) -> list[SentCommand]:
        """Commands sent and not yet answered by :meth:`reply` or a responder."""
        return [
            c
            for c in self._queue
            if (participant is None or c.participant == participant)
            and (saga_id is None or c.envelope.saga_id == saga_id)
        ]

    def reply(self, reply: ReplyEnvelope) -> bool:
        """Deliver a reply (as the inbox would); True if it moved the saga."""
        stored = self._stored(reply.saga_id)
        self._queue = [
            c
            for c in self._queue
            if not (
                c.envelope.saga_id == reply.saga_id
                and c.envelope.step == reply.step
                and c.envelope.phase == reply.phase
                and c.envelope.attempt == reply.attempt
            )
        ]
        advance = self._driver.reply(stored.record, reply, self.clock())
        self._apply(stored, advance)
        return advance.accepted

    def respond(self, participant: str, command: str, responder: Responder) -> None:
        """Make ``participant`` answer ``command`` with ``responder`` (replacing any earlier
        one) whenever the runtime runs; remove it with :meth:`silence`."""
        self._responders.setdefault(participant, _Responders()).handlers[command] = responder

    def silence(self, participant: str, command: str | None = None) -> None:
        """Stop answering ``command`` (every command of ``participant`` when None): its
        commands stay outstanding, as if the participant were down."""
        fake = self._responders.get(participant)
        if fake is None:
            return
        if command is None:
            fake.handlers.clear()
        else:
            fake.handlers.pop(command, None)

    def answer(self, command: SentCommand) -> ReplyEnvelope | None:
        """What the fake participant answers to ``command`` (None if it has no responder for
        it); the answer is not delivered."""
        fake = self._responders.get(command.participant)
        e = command.envelope
        if fake is None or e.name not in fake.handlers:
            return None
        found = self._shortcut(command, fake)
        reply, keep = found if found is not None else self._invoke(command, fake.handlers[e.name])
        if keep:
            fake.done[(e.saga_id, e.step, e.phase)] = reply
        return reply

    def _shortcut(
        self, command: SentCommand, fake: _Responders
    ) -> tuple[ReplyEnvelope, bool] | None:
        """As the Participant helper: a repeat, a late action, an empty undo, a held lock."""
        e = command.envelope
        done = fake.done.get((e.saga_id, e.step, e.phase))
        if done is not None:
            return command.answer(done.outcome, reason=done.reason, data=done.data), False
        if e.phase == Phase.ACTION and (e.saga_id, e.step, Phase.COMPENSATION) in fake.done:
            return command.failure("the step was compensated before its action arrived"), True
        if e.phase == Phase.COMPENSATION:
            action = fake.done.get((e.saga_id, e.step, Phase.ACTION))
            if action is None or action.outcome != ReplyOutcome.SUCCESS:
                return command.success(), True
        if e.lock is not None and e.phase == Phase.ACTION:
            holder = self.locks.get(e.lock)
            if holder is not None and holder[0] != e.saga_id:
                why = f"{e.lock} is pending in saga {holder[0]}"
                if e.lock_conflict == LockConflict.REJECT.value:
                    return command.failure(why), True
                return command.retry(why), False
        return None

    def _invoke(self, command: SentCommand, handler: Responder) -> tuple[ReplyEnvelope, bool]:
        e = command.envelope
        try:
            made = handler(e)
        except CommandRejected as error:
            if e.phase == Phase.ACTION and not error.retry_later:
                return command.failure(error.reason), True
            if e.phase == Phase.COMPENSATION:
                return command.failure(error.reason), False
            return command.retry(error.reason), False
        if e.lock is not None and e.phase == Phase.ACTION:
            self.locks[e.lock] = (e.saga_id, command.participant, e.step)
        if e.phase == Phase.COMPENSATION:
            for resource, holder in list(self.locks.items()):
                if holder == (e.saga_id, command.participant, e.step):
                    del self.locks[resource]
        data = made.model_dump(mode="json") if isinstance(made, BaseModel) else dict(made or {})
        return command.success(data), True

    def run(self, *, max_messages: int = 100_000) -> int:
        """Let the fake participants answer outstanding commands (and the answers' follow-ups)
        until none is left that a responder handles; how many replies were delivered.

        Time does not pass: deadlines and backoff need :meth:`advance` or :meth:`settle`.
        """
        delivered = 0
        progress = True
        while progress and delivered < max_messages:
            progress = False
            for command in list(self._queue):
                reply = self.answer(command)
                if reply is None:
                    continue
                self._queue.remove(command)
                self.reply(reply)
                delivered += 1
                progress = True
        return delivered

    # ---------------------------------------------------------------- time and operators

    def fire_due(self) -> int:
        """Wake every saga whose timer is due now; how many moved."""
        moved = 0
        now = self.clock()
        for stored in list(self._sagas.values()):
            m = stored.record.machine
            if m.active and m.due is not None and m.due <= now:
                advance = self._driver.advance(stored.record, Tick(), now)
                self._apply(stored, advance)
                moved += int(advance.accepted)
        return moved

    def advance(self, delta: timedelta) -> int:
        """Move the clock forward by ``delta``, firing each timer that comes due on the way at
        its own time (and letting responders answer after each); how many timers fired."""
        target = self.clock() + delta
        fired = self._until(target)
        if self.clock() < target:
            self.clock.advance(target - self.clock())
        fired += self.fire_due()
        self.run()
        return fired

    def settle(self, *, limit: timedelta = timedelta(days=1)) -> None:
        """Run responders and jump from timer to timer until every saga waits on something no
        responder answers or has ended (at most ``limit`` of fake time)."""
        self._until(self.clock() + limit)

    def _until(self, target: datetime) -> int:
        fired = 0
        while True:
            self.run()
            dues = [
                s.record.machine.due
                for s in self._sagas.values()
                if s.record.machine.active and s.record.machine.due is not None
            ]
            upcoming = [d for d in dues if d is not None and d <= target]
            if not upcoming:
                return fired
            nxt = min(upcoming)
            if nxt > self.clock():
                self.clock.advance(nxt - self.clock())
            woken = self.fire_due()
            if not woken:
                return fired  # nothing can move (a timer that no longer applies)
            fired += woken

    def retry(self, saga_id: uuid.UUID) -> None:
        """An operator's retry (as ``eventyard-saga retry``), carried out at once."""
        stored = self._stored(saga_id)
        advance = self._driver.advance(stored.record, Retry(), self.clock())
        self._apply(stored, advance)
        if not advance.accepted:
            raise OperationRefused(advance.logs[-1].detail if advance.logs else "refused")

    def abort(self, saga_id: uuid.UUID, reason: str = "aborted by an operator") -> None:
        """An operator's abort (as ``eventyard-saga abort``), carried out at once."""
        stored = self._stored(saga_id)
        advance = self._driver.advance(stored.record, Abort(reason=reason), self.clock())
        self._apply(stored, advance)
        if not advance.accepted:
            raise OperationRefused(advance.logs[-1].detail if advance.logs else "refused")
