"""Every error ``eventyard.saga`` raises, in one tree.

::

    SagaError
    ├── DefinitionError        permanent  a saga definition is malformed (names the step)
    ├── ConfigError            permanent  a table name, channel or setting is wrong
    ├── UnknownSaga            permanent  no saga instance has that id
    ├── UnknownDefinition      permanent  no registered definition has that name and version
    ├── InvalidSagaData        permanent  saga data does not fit the definition's model
    ├── OperationRefused       permanent  the saga's state does not allow it (retry, abort)
    ├── ConcurrentUpdate       retryable  the instance changed since it was read (version)
    ├── StoreUnavailable       retryable  PostgreSQL cannot be reached
    └── StepOutcome                       raised BY a step's code to decide its outcome
        ├── StepFailed         permanent  a business failure: the saga compensates (no retry)
        ├── StepRetry          retryable  try the step again later (the step's retry policy)
        └── CommandRejected    permanent  a participant refuses a command (failure reply);
                                          ``retryable=True`` asks the orchestrator to retry

``error.retryable`` says which side of the line an error is on: a retryable operation may
succeed if it is tried again later; a permanent one will not.

``ConfigurationError`` is the old name of :class:`ConfigError` (the same class), kept for one
release; every Eventyard library calls its configuration error ``ConfigError``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "CommandRejected",
    "ConcurrentUpdate",
    "ConfigError",
    "ConfigurationError",
    "DefinitionError",
    "InvalidSagaData",
    "OperationRefused",
    "SagaError",
    "StepFailed",
    "StepOutcome",
    "StepRetry",
    "StoreUnavailable",
    "UnknownDefinition",
    "UnknownSaga",
]


class SagaError(Exception):
    """Base of every error raised by ``eventyard.saga``."""

    retryable: ClassVar[bool] = False


class DefinitionError(SagaError, ValueError):
    """A saga definition is malformed; the message names the saga and the step."""


class ConfigError(SagaError, ValueError):
    """A table name, channel template or setting is wrong; fix the configuration."""


ConfigurationError = ConfigError
"""Deprecated: the old name of :class:`ConfigError`, kept for one release."""


class UnknownSaga(SagaError, LookupError):
    """No saga instance has the given id."""


class UnknownDefinition(SagaError, LookupError):
    """No registered definition has this name and version (register every version that still
    has unfinished instances)."""


class InvalidSagaData(SagaError, ValueError):
    """The saga data does not validate against the definition's data model."""


class OperationRefused(SagaError):
    """An admin operation is not allowed in the saga's current state (the message says why)."""


class ConcurrentUpdate(SagaError):
    """The saga instance changed since it was read: read it again and retry."""

    retryable: ClassVar[bool] = True


class StoreUnavailable(SagaError):
    """PostgreSQL cannot be reached (connection refused or lost)."""

    retryable: ClassVar[bool] = True


class StepOutcome(SagaError):
    """Raised by a step's own code (a local action, a participant handler) to decide its outcome."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StepFailed(StepOutcome):
    """A local step failed for a business reason: the saga compensates, without retrying."""


class StepRetry(StepOutcome):
    """A local step cannot run now: retry it after the step's backoff."""

    retryable: ClassVar[bool] = True


class CommandRejected(StepOutcome):
    """A participant refuses a command; the reply says failure with ``reason``.

    With ``retryable=True`` the orchestrator retries the command after the step's backoff
    (for example: the record is locked by another saga); otherwise the failure is final and the
    saga compensates. A compensation is always retried.
    """

    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(reason)
        self.retry_later = retryable
