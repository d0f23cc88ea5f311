"""Typed, declarative saga definitions.

A :class:`SagaDefinition` is a name, a version, a pydantic model for the saga's data and an
ordered tuple of :class:`Step`. A step's action is a :class:`Command` sent to a participant or a
:class:`Local` transaction run by the orchestrator; its compensation undoes it. The step marked
``pivot`` is the go/no-go point: until it succeeds a failure compensates the completed steps in
reverse order; once it has succeeded the saga only goes forward, retrying the steps after it.

Definitions are values: building one connects to nothing. :meth:`SagaDefinition.plan` is the
pure view the state machine works on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from eventyard.saga._exceptions import DefinitionError, InvalidSagaData

__all__ = [
    "Backoff",
    "Command",
    "Local",
    "Lock",
    "LockConflict",
    "Plan",
    "RetryPolicy",
    "SagaDefinition",
    "Step",
    "StepSpec",
]

DataT = TypeVar("DataT", bound=BaseModel)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}")


def _check_name(value: str, what: str) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise DefinitionError(
            f"{what} {value!r} must start with a letter or underscore and contain only letters, "
            "digits, '_', '.', '-' (at most 100 characters)"
        )


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Exponential backoff between attempts: ``initial * multiplier**(n-1)``, at most ``maximum``.

    ``jitter`` spreads retries of many sagas by up to that fraction of the delay, either way;
    it is derived from the saga id, step and attempt, so a replay computes the same delay.
    """

    initial: timedelta = timedelta(milliseconds=200)
    maximum: timedelta = timedelta(seconds=30)
    multiplier: float = 2.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.initial < timedelta(0) or self.maximum < self.initial:
            raise DefinitionError(
                f"backoff needs 0 <= initial <= maximum, not {self.initial} and {self.maximum}"
            )
        if self.multiplier < 1:
            raise DefinitionError(f"backoff multiplier must be at least 1, not {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise DefinitionError(f"backoff jitter must be between 0 and 1, not {self.jitter}")

    def delay(self, retry: int, *, seed: str = "") -> timedelta:
        """The pause before retry number ``retry`` (1 for the first retry)."""
        base = self.initial.total_seconds() * self.multiplier ** max(retry - 1, 0)
        base = min(base, self.maximum.total_seconds())
        if self.jitter and base:
            digest = hashlib.blake2b(f"{seed}:{retry}".encode(), digest_size=8).digest()
            spread = int.from_bytes(digest, "big") / 2**64 * 2 - 1  # [-1, 1)
            base = max(0.0, base * (1 + self.jitter * spread))
        return timedelta(seconds=base)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often a step's action or compensation is tried, and the pause between tries.

    ``max_attempts=None`` tries until it succeeds. A reply that says ``retry``, a missed
    deadline, or a local step raising anything but :class:`StepFailed` uses up an attempt.
    """

    max_attempts: int | None = 3
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise DefinitionError(f"max_attempts must be at least 1, not {self.max_attempts}")


class LockConflict(StrEnum):
    """What a step does when another saga holds its semantic lock."""

    RETRY = "retry"
    REJECT = "reject"


@dataclass(frozen=True, kw_only=True)
class Lock(Generic[DataT]):
    """A semantic lock: the step marks ``resource(data)`` as pending for this saga.

    The participant (or, for a local step, the orchestrator) takes the lock with the step's
    action, in the same transaction; it is held until the saga completes or compensates, so
    concurrent sagas see the record as half-done. A conflict retries the step after its backoff
    (``RETRY``) or fails it for good (``REJECT``).
    """

    resource: Callable[[DataT], str]
    on_conflict: LockConflict = LockConflict.RETRY


@dataclass(frozen=True, kw_only=True)
class Command(Generic[DataT]):
    """A command sent to ``participant``: its name, and the payload built from the saga data.

    ``payload`` returns a JSON-able mapping or a pydantic model; without it the whole saga data
    is sent.
    """

    participant: str
    name: str
    payload: Callable[[DataT], Mapping[str, Any] | BaseModel] | None = None

    def build(self, data: DataT) -> dict[str, Any]:
        """The payload for ``data`` as a JSON-able dict."""
        made = data if self.payload is None else self.payload(data)
        if isinstance(made, BaseModel):
            return made.model_dump(mode="json")
        return dict(made)


@dataclass(frozen=True, kw_only=True)
class Local(Generic[DataT]):
    """A local transaction: ``run(session, data)`` in the orchestrator's own transaction.

    It receives a copy of the saga data and returns the new data (or None to keep it as it
    was). Raising :class:`StepFailed` fails the
    step for a business reason; any other exception is retried with the step's policy. Its
    database work is rolled back (a savepoint) whenever it raises.
    """

    run: Callable[[Session, DataT], DataT | None]
    name: str | None = None

    @property
    def label(self) -> str:
        """The name the step log shows."""
        return self.name or str(getattr(self.run, "__name__", "local"))


@dataclass(frozen=True, kw_only=True)
class Step(Generic[DataT]):
    """One step of a saga.

    - ``action``: a :class:`Command` to a participant or a :class:`Local` transaction.
    - ``compensation``: undoes a completed action (it must be idempotent, and must accept being
      sent for an action that never took effect); None when there is nothing to undo.
    - ``pivot``: the go/no-go step. Steps after it are retried, never compensated, and may not
      have a compensation. Without a pivot every step is compensable.
    - ``retry``: attempts and backoff of the action (default: 3 attempts before the pivot,
      unlimited after it); ``compensation_retry`` the same for the compensation.
    - ``deadline``: how long one attempt waits for its reply (None: forever).
    - ``on_reply``: merges a success reply's data into the saga data.
    - ``lock``: an optional semantic lock.
    """

    name: str
    action: Command[DataT] | Local[DataT]
    compensation: Command[DataT] | Local[DataT] | None = None
    pivot: bool = False
    retry: RetryPolicy | None = None
    compensation_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=5))
    deadline: timedelta | None = timedelta(seconds=30)
    on_reply: Callable[[DataT, Mapping[str, Any]], DataT] | None = None
    lock: Lock[DataT] | None = None

    def operation(self, compensation: bool) -> Command[DataT] | Local[DataT]:
        """The action, or the compensation (which must exist)."""
        if not compensation:
            return self.action
        if self.compensation is None:
            raise DefinitionError(f"step {self.name} has no compensation")
        return self.compensation


@dataclass(frozen=True, kw_only=True)
class StepSpec:
    """What the state machine needs to know about a step (no callables)."""

    index: int
    name: str
    local: bool
    compensable: bool
    compensation_local: bool
    retriable: bool
    retry: RetryPolicy
    compensation_retry: RetryPolicy
    deadline: timedelta | None


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The pure shape of a definition: its steps and the pivot's index."""

    steps: tuple[StepSpec, ...]
    pivot: int | None

    def index(self, name: str) -> int | None:
        """The index of the step called ``name``."""
        for spec in self.steps:
            if spec.name == name:
                return spec.index
        return None


@dataclass(frozen=True, kw_only=True)
class SagaDefinition(Generic[DataT]):
    """A saga type at one version.

    Instances keep the version they started with; register every version that still has
    unfinished instances with the orchestrator, and old instances finish on the old steps.
    ``on_completed`` and ``on_compensated`` run in the orchestrator's transaction that ends the
    saga (for example: mark the order approved or rejected).
    """

    name: str
    data: type[DataT]
    steps: Sequence[Step[DataT]]
    version: int = 1
    on_completed: Callable[[Session, DataT], None] | None = None
    on_compensated: Callable[[Session, DataT], None] | None = None
    _plan: Plan = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_name(self.name, "saga name")
        where = f"saga {self.name} v{self.version}"
        if not isinstance(self.version, int) or self.version < 1:
            raise DefinitionError(f"{where}: version must be a positive integer")
        if not (isinstance(self.data, type) and issubclass(self.data, BaseModel)):
            raise DefinitionError(f"{where}: data must be a pydantic model class")
        steps = tuple(self.steps)
        object.__setattr__(self, "steps", steps)
        if not steps:
            raise DefinitionError(f"{where}: a saga needs at least one step")
        seen: set[str] = set()
        pivots = [i for i, s in enumerate(steps) if s.pivot]
        if len(pivots) > 1:
            names = ", ".join(steps[i].name for i in pivots)
            raise DefinitionError(f"{where}: only one step may be the pivot, not {names}")
        pivot = pivots[0] if pivots else None
        specs: list[StepSpec] = []
        for index, step in enumerate(steps):
            _check_name(step.name, f"{where}: step name")
            if step.name in seen:
                raise DefinitionError(f"{where}: two steps are called {step.name}")
            seen.add(step.name)
            for role, operation in (("action", step.action), ("compensation", step.compensation)):
                if operation is not None and not isinstance(operation, Command | Local):
                    raise DefinitionError(
                        f"{where}, step {step.name}: {role} must be a Command or a Local"
                    )
                if isinstance(operation, Command):
                    _check_name(operation.participant, f"{where}, step {step.name}: participant")
                    _check_name(operation.name, f"{where}, step {step.name}: command name")
            retriable = pivot is not None and index > pivot
            if retriable and step.compensation is not None:
                raise DefinitionError(
                    f"{where}, step {step.name}: steps after the pivot "
                    f"({steps[pivot].name if pivot is not None else ''}) are retried until they "
                    "succeed and are never compensated; remove the compensation"
                )
            if step.deadline is not None and step.deadline <= timedelta(0):
                raise DefinitionError(f"{where}, step {step.name}: deadline must be positive")
            retry = step.retry or RetryPolicy(max_attempts=None if retriable else 3)
            specs.append(
                StepSpec(
                    index=index,
                    name=step.name,
                    local=isinstance(step.action, Local),
                    compensable=step.compensation is not None,
                    compensation_local=isinstance(step.compensation, Local),
                    retriable=retriable,
                    retry=retry,
                    compensation_retry=step.compensation_retry,
                    deadline=step.deadline,
                )
            )
        object.__setattr__(self, "_plan", Plan(steps=tuple(specs), pivot=pivot))

    @property
    def key(self) -> tuple[str, int]:
        """``(name, version)``: how instances find their definition."""
        return (self.name, self.version)

    @property
    def plan(self) -> Plan:
        """The pure shape the state machine works on."""
        return self._plan

    def step(self, name: str) -> Step[DataT]:
        """The step called ``name``."""
        for step in self.steps:
            if step.name == name:
                return step
        raise DefinitionError(f"saga {self.name} v{self.version} has no step {name!r}")

    def load(self, value: Mapping[str, Any] | BaseModel) -> DataT:
        """Validate saga data (a mapping, or a model instance) as the definition's model."""
        try:
            if isinstance(value, self.data):
                return value
            if isinstance(value, BaseModel):
                value = value.model_dump(mode="json")
            return self.data.model_validate(dict(value))
        except ValidationError as error:
            raise InvalidSagaData(
                f"saga {self.name} v{self.version}: data does not fit {self.data.__name__}: {error}"
            ) from error

    def dump(self, data: DataT) -> dict[str, Any]:
        """Saga data as the JSON stored with the instance."""
        return data.model_dump(mode="json")

    def participants(self) -> frozenset[str]:
        """Every participant a command of this saga goes to."""
        found: set[str] = set()
        for step in self.steps:
            for operation in (step.action, step.compensation):
                if isinstance(operation, Command):
                    found.add(operation.participant)
        return frozenset(found)
