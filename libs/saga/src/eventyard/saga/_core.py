"""The driver both runtimes share: feed an input to the machine and carry out its effects.

The driver is the only place where the pure machine meets a definition's code: it builds
command payloads from the saga data, runs local steps, merges replies into the data, keeps the
per-step status map, writes log lines and opens the saga's spans. Where messages go, how local
steps are isolated and how locks are kept is the runtime's business (:class:`Ports`): the
PostgreSQL orchestrator and the in-memory testing runtime implement it.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import structlog
from opentelemetry.trace import Status, StatusCode, TracerProvider
from pydantic import BaseModel
from sqlalchemy.orm import Session

from eventyard.saga._definition import Command, Local, LockConflict, SagaDefinition, Step
from eventyard.saga._exceptions import UnknownDefinition
from eventyard.saga._machine import (
    Begin,
    Decision,
    Dispatch,
    Finish,
    Input,
    LogLine,
    MachineState,
    Reply,
    decide,
)
from eventyard.saga._model import (
    CommandEnvelope,
    LogEntry,
    LogOutcome,
    Phase,
    ReplyEnvelope,
    ReplyOutcome,
    SagaStatus,
)
from eventyard.saga._tracing import saga_child_span

__all__ = [
    "Advance",
    "Driver",
    "LocalResult",
    "Ports",
    "Registry",
    "SagaRecord",
    "message_id",
]

_log = structlog.get_logger("eventyard.saga")

#: Namespace of the deterministic message ids (uuid5 of saga, step, phase and attempt).
MESSAGE_NAMESPACE: Final = uuid.UUID("5b0f3b7e-6d1a-4c55-9a0e-3e7f2f6f5a11")


def message_id(*parts: object) -> uuid.UUID:
    """A deterministic message id: the same attempt always has the same id, so an inbox skips
    a repeat even if it was published twice."""
    return uuid.uuid5(MESSAGE_NAMESPACE, ":".join(str(p) for p in parts))


class Registry:
    """Definitions by ``(name, version)``; every version with unfinished instances belongs here."""

    def __init__(self, definitions: Iterable[SagaDefinition[Any]]) -> None:
        self._by_key: dict[tuple[str, int], SagaDefinition[Any]] = {}
        for definition in definitions:
            if definition.key in self._by_key and self._by_key[definition.key] is not definition:
                raise UnknownDefinition(
                    f"two different definitions are registered as {definition.name} "
                    f"v{definition.version}: give the new one a new version"
                )
            self._by_key[definition.key] = definition

    def get(self, name: str, version: int) -> SagaDefinition[Any]:
        """The definition, or UnknownDefinition naming what is registered."""
        try:
            return self._by_key[(name, version)]
        except KeyError:
            known = ", ".join(f"{n} v{v}" for n, v in sorted(self._by_key)) or "none"
            raise UnknownDefinition(
                f"no definition {name} v{version} is registered (registered: {known})"
            ) from None

    def has(self, name: str, version: int) -> bool:
        """True if that definition is registered."""
        return (name, version) in self._by_key

    @property
    def keys(self) -> list[tuple[str, int]]:
        """Every registered ``(name, version)``, sorted."""
        return sorted(self._by_key)

    def __iter__(self) -> Any:
        return iter(self._by_key.values())


@dataclass(kw_only=True)
class SagaRecord:
    """A saga instance being worked on (the runtime loads and stores it)."""

    id: uuid.UUID
    definition: SagaDefinition[Any]
    data: BaseModel
    machine: MachineState
    version: int = 0
    step_status: dict[str, str] = field(default_factory=dict)
    traceparent: str | None = None
    trace_id: str | None = None
    request: str | None = None
    request_reason: str | None = None

    @property
    def status(self) -> SagaStatus:
        """The machine's status."""
        return self.machine.status

    def step_name(self, index: int | None) -> str | None:
        """The name of step ``index``."""
        return None if index is None else self.definition.steps[index].name

    def data_json(self) -> dict[str, Any]:
        """The data as stored."""
        return self.definition.dump(self.data)


@dataclass(frozen=True, kw_only=True)
class LocalResult:
    """What running a local step gave: the outcome, a reason, the new data (on success)."""

    outcome: ReplyOutcome
    reason: str | None = None
    data: BaseModel | None = None


@dataclass(kw_only=True)
class Advance:
    """What one input did: whether it was accepted, and the log lines it wrote."""

    accepted: bool
    logs: list[LogEntry] = field(default_factory=list)
    finished: SagaStatus | None = None


class Ports(abc.ABC):
    """Where the driver's effects go: the runtime's outbox, local steps, locks and hooks."""

    @abc.abstractmethod
    def send(self, record: SagaRecord, envelope: CommandEnvelope, participant: str) -> None:
        """Publish a command (in the transaction that stores the new state)."""

    @abc.abstractmethod
    def send_release(self, record: SagaRecord, participant: str) -> None:
        """Tell a participant the saga ended: release its semantic locks."""

    @abc.abstractmethod
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
        """Run a local step in isolation (its database work undone if it raises)."""

    @abc.abstractmethod
    def finish(self, record: SagaRecord, hook: Callable[[Session, Any], None] | None) -> None:
        """The saga ended: run the definition's hook and release the orchestrator's locks."""


_STEP_STATUS: Final[Mapping[tuple[LogOutcome, Phase], str]] = {
    (LogOutcome.DISPATCHED, Phase.ACTION): "STARTED",
    (LogOutcome.SUCCEEDED, Phase.ACTION): "SUCCEEDED",
    (LogOutcome.FAILED, Phase.ACTION): "FAILED",
    (LogOutcome.GAVE_UP, Phase.ACTION): "FAILED",
    (LogOutcome.DISPATCHED, Phase.COMPENSATION): "COMPENSATING",
    (LogOutcome.SUCCEEDED, Phase.COMPENSATION): "COMPENSATED",
    (LogOutcome.GAVE_UP, Phase.COMPENSATION): "COMPENSATION_FAILED",
}


class Driver:
    """Feeds inputs to the machine and carries out the effects through :class:`Ports`."""

    def __init__(
        self,
        ports: Ports,
        *,
        reply_channel: str,
        command_channel: Callable[[str], str],
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.ports = ports
        self.reply_channel = reply_channel
        self.command_channel = command_channel
        self.tracer_provider = tracer_provider

    # ---------------------------------------------------------------- entry points

    def begin(self, record: SagaRecord, now: datetime) -> Advance:
        """Start the first step of a ``STARTED`` saga."""
        return self.advance(record, Begin(), now)

    def reply(self, record: SagaRecord, reply: ReplyEnvelope, now: datetime) -> Advance:
        """A participant's reply: accepted only if it answers the attempt being waited for."""
        plan = record.definition.plan
        index = plan.index(reply.step)
        if index is None or not record.machine.awaits(index, reply.phase, reply.attempt):
            return Advance(accepted=False, logs=[self._ignored(record, reply)])
        if reply.outcome == ReplyOutcome.SUCCESS and reply.phase == Phase.ACTION:
            step = record.definition.steps[index]
            if step.on_reply is not None:
                record.data = record.definition.load(step.on_reply(record.data, reply.data))
        event = Reply(
            step=index,
            phase=reply.phase,
            attempt=reply.attempt,
            outcome=reply.outcome,
            reason=reply.reason,
        )
        return self.advance(record, event, now, reply_json=reply.to_json())

    def advance(
        self,
        record: SagaRecord,
        event: Input,
        now: datetime,
        *,
        reply_json: Mapping[str, Any] | None = None,
    ) -> Advance:
        """Feed ``event``; run local steps as they come up; True in ``accepted`` if it moved."""
        result = Advance(accepted=False)
        first = True
        next_event: Input | None = event
        while next_event is not None:
            decision: Decision = decide(
                record.definition.plan, record.machine, next_event, now=now, seed=str(record.id)
            )
            if first and not decision.accepted:
                result.logs += [
                    self._entry(record, e) for e in decision.effects if isinstance(e, LogLine)
                ]
                return result
            first = False
            result.accepted = True
            record.machine = decision.state
            next_event = None
            local: Dispatch | None = None
            for effect in decision.effects:
                if isinstance(effect, LogLine):
                    entry = self._entry(record, effect, reply=reply_json)
                    if reply_json is not None and effect.outcome in (
                        LogOutcome.SUCCEEDED,
                        LogOutcome.FAILED,
                        LogOutcome.RETRY,
                    ):
                        reply_json = None
                    result.logs.append(entry)
                    self._track(record, effect)
                elif isinstance(effect, Dispatch):
                    if effect.local:
                        local = effect
                    else:
                        self._send(record, effect)
                elif isinstance(effect, Finish):
                    self._finish(record, effect.status)
                    result.finished = effect.status
            if local is not None:
                next_event = self._run_local(record, local)
                if next_event.outcome != ReplyOutcome.SUCCESS:
                    reply_json = {"outcome": next_event.outcome.value, "reason": next_event.reason}
        return result

    # ---------------------------------------------------------------- effects

    def _send(self, record: SagaRecord, dispatch: Dispatch) -> None:
        definition = record.definition
        step = definition.steps[dispatch.step]
        operation = step.operation(dispatch.phase == Phase.COMPENSATION)
        assert isinstance(operation, Command)
        lock = None
        conflict = LockConflict.RETRY
        if step.lock is not None and dispatch.phase == Phase.ACTION:
            lock = step.lock.resource(record.data)
            conflict = step.lock.on_conflict
        envelope = CommandEnvelope(
            saga_id=record.id,
            saga_type=definition.name,
            saga_version=definition.version,
            step=step.name,
            phase=dispatch.phase,
            attempt=dispatch.attempt,
            name=operation.name,
            payload=operation.build(record.data),
            reply_to=self.reply_channel,
            lock=lock,
            lock_conflict=conflict.value,
        )
        kind = "saga.compensate" if dispatch.phase == Phase.COMPENSATION else "saga.step"
        with saga_child_span(
            f"{kind} {step.name}",
            traceparent=record.traceparent,
            attributes=self._attributes(record, step.name, dispatch.phase, dispatch.attempt)
            | {"saga.command": operation.name, "saga.participant": operation.participant},
            tracer_provider=self.tracer_provider,
        ):
            self.ports.send(record, envelope, operation.participant)

    def _run_local(self, record: SagaRecord, dispatch: Dispatch) -> Reply:
        step = record.definition.steps[dispatch.step]
        operation = step.operation(dispatch.phase == Phase.COMPENSATION)
        assert isinstance(operation, Local)
        lock = None
        conflict = LockConflict.RETRY
        if step.lock is not None and dispatch.phase == Phase.ACTION:
            lock = step.lock.resource(record.data)
            conflict = step.lock.on_conflict
        kind = "saga.compensate" if dispatch.phase == Phase.COMPENSATION else "saga.step"
        with saga_child_span(
            f"{kind} {step.name}",
            traceparent=record.traceparent,
            attributes=self._attributes(record, step.name, dispatch.phase, dispatch.attempt)
            | {"saga.local": operation.label},
            tracer_provider=self.tracer_provider,
        ) as span:
            result = self.ports.run_local(
                record, step, operation, lock=lock, on_conflict=conflict, phase=dispatch.phase
            )
            span.set_attribute("saga.outcome", result.outcome.value)
            if result.outcome != ReplyOutcome.SUCCESS:
                span.set_status(Status(StatusCode.ERROR, result.reason or result.outcome.value))
        if result.outcome == ReplyOutcome.SUCCESS and result.data is not None:
            record.data = record.definition.load(result.data)
        return Reply(
            step=dispatch.step,
            phase=dispatch.phase,
            attempt=dispatch.attempt,
            outcome=result.outcome,
            reason=result.reason,
        )

    def _finish(self, record: SagaRecord, status: SagaStatus) -> None:
        definition = record.definition
        hook = definition.on_completed if status == SagaStatus.COMPLETED else None
        if status == SagaStatus.COMPENSATED:
            hook = definition.on_compensated
        with saga_child_span(
            f"saga.{status.value.lower()}",
            traceparent=record.traceparent,
            attributes={"saga.id": str(record.id), "saga.type": definition.name},
            tracer_provider=self.tracer_provider,
        ):
            self.ports.finish(record, hook)
            notified: set[str] = set()
            for step in definition.steps:
                if (
                    step.lock is not None
                    and isinstance(step.action, Command)
                    and step.name in record.step_status
                    and step.action.participant not in notified
                ):
                    notified.add(step.action.participant)
                    self.ports.send_release(record, step.action.participant)
        _log.info(
            "saga finished",
            saga_id=str(record.id),
            saga_type=definition.name,
            status=status.value,
            reason=record.machine.reason,
            trace_id=record.trace_id,
        )

    # ---------------------------------------------------------------- bookkeeping

    def _attributes(
        self, record: SagaRecord, step: str, phase: Phase, attempt: int
    ) -> dict[str, str | int]:
        return {
            "saga.id": str(record.id),
            "saga.type": record.definition.name,
            "saga.version": record.definition.version,
            "saga.step": step,
            "saga.phase": phase.value,
            "saga.attempt": attempt,
        }

    def _track(self, record: SagaRecord, log: LogLine) -> None:
        if log.step is None or log.phase is None:
            return
        status = _STEP_STATUS.get((log.outcome, log.phase))
        if status is not None:
            record.step_status[record.definition.steps[log.step].name] = status
        if (
            log.outcome in (LogOutcome.GAVE_UP, LogOutcome.FAILED)
            and log.phase == Phase.COMPENSATION
        ):
            _log.warning(
                "compensation failed",
                saga_id=str(record.id),
                step=record.step_name(log.step),
                attempt=log.attempt,
                detail=log.detail,
                trace_id=record.trace_id,
            )
        if log.outcome == LogOutcome.GAVE_UP:
            status_after = record.machine.status
            if status_after in (SagaStatus.COMPENSATION_FAILED, SagaStatus.FAILED):
                _log.error(
                    "saga needs an operator",
                    saga_id=str(record.id),
                    saga_type=record.definition.name,
                    status=status_after.value,
                    reason=record.machine.reason,
                    trace_id=record.trace_id,
                    retry=f"eventyard-saga retry {record.id}",
                )

    def _command_name(
        self, record: SagaRecord, step: int | None, phase: Phase | None
    ) -> str | None:
        if step is None or phase is None:
            return None
        definition_step = record.definition.steps[step]
        operation = (
            definition_step.compensation if phase == Phase.COMPENSATION else definition_step.action
        )
        if isinstance(operation, Command):
            return operation.name
        if isinstance(operation, Local):
            return operation.label
        return None

    def _entry(
        self, record: SagaRecord, log: LogLine, *, reply: Mapping[str, Any] | None = None
    ) -> LogEntry:
        with_reply = log.outcome in (LogOutcome.SUCCEEDED, LogOutcome.FAILED, LogOutcome.RETRY)
        return LogEntry(
            saga_id=record.id,
            step=record.step_name(log.step),
            phase=log.phase,
            attempt=log.attempt,
            outcome=log.outcome,
            command=self._command_name(record, log.step, log.phase),
            reply=dict(reply) if (reply is not None and with_reply) else None,
            detail=log.detail,
            trace_id=record.trace_id,
        )

    def _ignored(self, record: SagaRecord, reply: ReplyEnvelope) -> LogEntry:
        return LogEntry(
            saga_id=record.id,
            step=reply.step,
            phase=reply.phase,
            attempt=reply.attempt,
            outcome=LogOutcome.IGNORED,
            reply=reply.to_json(),
            detail=_why_ignored(record.machine, record, reply),
            trace_id=record.trace_id,
        )


def _why_ignored(state: MachineState, record: SagaRecord, reply: ReplyEnvelope) -> str:
    if not state.active:
        return f"the saga is {state.status.value}"
    index = record.definition.plan.index(reply.step)
    if index is None:
        return f"no step {reply.step!r} in {record.definition.name} v{record.definition.version}"
    waiting = record.step_name(state.step)
    if index != state.step or reply.phase != state.phase:
        return f"waiting for {waiting} ({state.phase}), not {reply.step} ({reply.phase.value})"
    if state.wait is None or state.wait.value != "reply":
        return f"not waiting for a reply ({state.wait.value if state.wait else 'idle'})"
    if reply.attempt != state.attempt:
        return f"waiting for attempt {state.attempt}, not {reply.attempt}"
    return "duplicate"
