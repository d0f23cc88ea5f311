"""Value types shared by every layer: statuses, phases, outcomes, and the messages on the wire.

A command travels from the orchestrator to a participant through the orchestrator's outbox; a
reply travels back through the participant's outbox. Both are JSON objects. The pair
``(saga_id, step, phase, attempt)`` correlates a reply with the one command it answers: the
orchestrator accepts a reply only while it waits for exactly that attempt, so a duplicate, a
late reply of an earlier attempt, or a reply for another step never moves a saga.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

from pydantic import BaseModel

from eventyard.saga._exceptions import InvalidSagaData

__all__ = [
    "ACTIVE_STATUSES",
    "EVENT_TYPE_RELEASE",
    "EVENT_TYPE_REPLY",
    "TERMINAL_STATUSES",
    "CommandEnvelope",
    "LogEntry",
    "LogOutcome",
    "Phase",
    "ReplyEnvelope",
    "ReplyOutcome",
    "SagaInstance",
    "SagaStatus",
]

EVENT_TYPE_REPLY: Final = "SagaReply"
EVENT_TYPE_RELEASE: Final = "SagaReleaseLocks"

ModelT = TypeVar("ModelT", bound=BaseModel)


class SagaStatus(StrEnum):
    """Where a saga instance stands.

    - ``STARTED``: created; its first step is not dispatched yet (the orchestrator picks it up).
    - ``RUNNING``: executing steps forward.
    - ``COMPENSATING``: undoing completed steps, in reverse order.
    - ``COMPLETED``: every step succeeded (terminal).
    - ``COMPENSATED``: a step failed (or the saga was aborted) and every completed step was
      compensated (terminal).
    - ``COMPENSATION_FAILED``: a compensation kept failing; it waits for an operator's retry.
    - ``FAILED``: a step after the pivot kept failing (it is never compensated); it waits for
      an operator's retry.
    """

    STARTED = "STARTED"
    RUNNING = "RUNNING"
    COMPENSATING = "COMPENSATING"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"
    FAILED = "FAILED"


#: Statuses the orchestrator still drives by itself.
ACTIVE_STATUSES: Final = frozenset(
    {SagaStatus.STARTED, SagaStatus.RUNNING, SagaStatus.COMPENSATING}
)
#: Statuses nothing moves out of.
TERMINAL_STATUSES: Final = frozenset({SagaStatus.COMPLETED, SagaStatus.COMPENSATED})


class Phase(StrEnum):
    """Whether a command performs a step (``action``) or undoes it (``compensation``)."""

    ACTION = "action"
    COMPENSATION = "compensation"


class ReplyOutcome(StrEnum):
    """What a participant (or a local step) says about one attempt.

    ``success``: done. ``failure``: refused for a business reason, final (the saga compensates).
    ``retry``: not done now; try again after the step's backoff.
    """

    SUCCESS = "success"
    FAILURE = "failure"
    RETRY = "retry"


class LogOutcome(StrEnum):
    """What a line of the step log records."""

    STARTED = "STARTED"
    DISPATCHED = "DISPATCHED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    RETRY = "RETRY"
    TIMED_OUT = "TIMED_OUT"
    RETRY_SCHEDULED = "RETRY_SCHEDULED"
    GAVE_UP = "GAVE_UP"
    IGNORED = "IGNORED"
    ABORTED = "ABORTED"
    RETRY_REQUESTED = "RETRY_REQUESTED"
    REFUSED = "REFUSED"
    COMPLETED = "COMPLETED"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"
    STEP_FAILED = "STEP_FAILED"


@dataclass(frozen=True, kw_only=True)
class CommandEnvelope:
    """A command as it travels to a participant (the JSON payload of the outbox event)."""

    saga_id: uuid.UUID
    saga_type: str
    saga_version: int
    step: str
    phase: Phase
    attempt: int
    name: str
    payload: Mapping[str, Any]
    reply_to: str
    lock: str | None = None
    lock_conflict: str = "retry"

    def to_json(self) -> dict[str, Any]:
        """The JSON object sent on the wire."""
        return {
            "saga_id": str(self.saga_id),
            "saga_type": self.saga_type,
            "saga_version": self.saga_version,
            "step": self.step,
            "phase": self.phase.value,
            "attempt": self.attempt,
            "name": self.name,
            "payload": dict(self.payload),
            "reply_to": self.reply_to,
            "lock": self.lock,
            "lock_conflict": self.lock_conflict,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> CommandEnvelope:
        """Parse a command; ValueError (or KeyError/TypeError) names what is wrong."""
        return cls(
            saga_id=uuid.UUID(str(value["saga_id"])),
            saga_type=str(value["saga_type"]),
            saga_version=int(value["saga_version"]),
            step=str(value["step"]),
            phase=Phase(value["phase"]),
            attempt=int(value["attempt"]),
            name=str(value["name"]),
            payload=dict(value.get("payload") or {}),
            reply_to=str(value["reply_to"]),
            lock=None if value.get("lock") is None else str(value["lock"]),
            lock_conflict=str(value.get("lock_conflict") or "retry"),
        )

    def parse(self, model: type[ModelT]) -> ModelT:
        """The payload validated as ``model``; InvalidSagaData names the command and the field."""
        try:
            return model.model_validate(dict(self.payload))
        except ValueError as error:
            raise InvalidSagaData(
                f"command {self.name} of saga {self.saga_id} (step {self.step}): {error}"
            ) from error


@dataclass(frozen=True, kw_only=True)
class ReplyEnvelope:
    """A participant's reply to one command attempt (the JSON payload of its outbox event)."""

    saga_id: uuid.UUID
    saga_type: str
    step: str
    phase: Phase
    attempt: int
    outcome: ReplyOutcome
    reason: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    participant: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object sent on the wire."""
        return {
            "saga_id": str(self.saga_id),
            "saga_type": self.saga_type,
            "step": self.step,
            "phase": self.phase.value,
            "attempt": self.attempt,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "data": dict(self.data),
            "participant": self.participant,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ReplyEnvelope:
        """Parse a reply; ValueError (or KeyError/TypeError) names what is wrong."""
        return cls(
            saga_id=uuid.UUID(str(value["saga_id"])),
            saga_type=str(value["saga_type"]),
            step=str(value["step"]),
            phase=Phase(value["phase"]),
            attempt=int(value["attempt"]),
            outcome=ReplyOutcome(value["outcome"]),
            reason=None if value.get("reason") is None else str(value["reason"]),
            data=dict(value.get("data") or {}),
            participant=None if value.get("participant") is None else str(value["participant"]),
        )


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    """One line of a saga's append-only step log."""

    saga_id: uuid.UUID
    step: str | None
    phase: Phase | None
    attempt: int | None
    outcome: LogOutcome
    command: str | None = None
    reply: Mapping[str, Any] | None = None
    detail: str | None = None
    trace_id: str | None = None
    at: datetime | None = None
    seq: int | None = None


@dataclass(frozen=True, kw_only=True)
class SagaInstance:
    """A saga instance as stored: what ``inspect`` shows and the testing runtime returns."""

    id: uuid.UUID
    type: str
    definition_version: int
    status: SagaStatus
    current_step: str | None
    phase: Phase | None
    attempt: int
    version: int
    data: Mapping[str, Any]
    wake_at: datetime | None
    reason: str | None
    trace_id: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    step_status: Mapping[str, str] = field(default_factory=dict)
    pending_request: str | None = None

    def data_as(self, model: builtins.type[ModelT]) -> ModelT:
        """The saga data validated as ``model``."""
        return model.model_validate(dict(self.data))
