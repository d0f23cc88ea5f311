"""The public surface is exactly what __all__ says; the namespace package stays PEP 420."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import eventyard.saga
import eventyard.saga.testing
from eventyard.saga import _exceptions

pytestmark = pytest.mark.unit

SRC = Path(eventyard.saga.__file__).parent


def test_all_is_pinned() -> None:
    assert eventyard.saga.__all__ == [
        "EVENT_TYPE_RELEASE",
        "EVENT_TYPE_REPLY",
        "Abort",
        "Backoff",
        "Begin",
        "Command",
        "CommandEnvelope",
        "CommandHandler",
        "CommandRejected",
        "ConcurrentUpdate",
        "ConfigurationError",
        "Decision",
        "DefinitionError",
        "Dispatch",
        "Finish",
        "InvalidSagaData",
        "Local",
        "Lock",
        "LockConflict",
        "LockHolder",
        "LogEntry",
        "LogLine",
        "LogOutcome",
        "MachineState",
        "OperationRefused",
        "Orchestrator",
        "OrchestratorConfig",
        "Participant",
        "Phase",
        "Plan",
        "Reply",
        "ReplyEnvelope",
        "ReplyOutcome",
        "ResumeReport",
        "Retry",
        "RetryPolicy",
        "SagaAdmin",
        "SagaCount",
        "SagaDefinition",
        "SagaError",
        "SagaFilter",
        "SagaInstance",
        "SagaStatus",
        "SagaTables",
        "SemanticLocks",
        "Step",
        "StepFailed",
        "StepOutcome",
        "StepRetry",
        "StepSpec",
        "StoreUnavailable",
        "Tick",
        "UnknownDefinition",
        "UnknownSaga",
        "WaitKind",
        "create_saga_schema",
        "decide",
        "drop_saga_schema",
        "initial_state",
        "saga_ddl",
    ]
    for name in eventyard.saga.__all__:
        assert hasattr(eventyard.saga, name)


def test_testing_module_surface() -> None:
    assert eventyard.saga.testing.__all__ == [
        "FakeClock",
        "InMemorySagaRuntime",
        "Responder",
        "SentCommand",
        "reject",
        "retry_later",
    ]


def test_namespace_package_and_typed_marker() -> None:
    assert not (SRC.parent / "__init__.py").exists()
    assert (SRC / "py.typed").is_file()


def test_private_modules_stay_private() -> None:
    public = {p.stem for p in SRC.glob("*.py") if not p.stem.startswith("_")}
    assert public == {"testing"}


def test_exception_tree_is_drawn_and_true() -> None:
    doc = _exceptions.__doc__ or ""
    for name in _exceptions.__all__:
        assert name in doc, name
        assert issubclass(getattr(_exceptions, name), eventyard.saga.SagaError)
    assert eventyard.saga.ConcurrentUpdate.retryable
    assert eventyard.saga.StoreUnavailable.retryable
    assert eventyard.saga.StepRetry.retryable
    assert not eventyard.saga.StepFailed.retryable
    assert issubclass(eventyard.saga.DefinitionError, ValueError)
    assert issubclass(eventyard.saga.UnknownSaga, LookupError)


def test_config_objects_are_frozen_and_keyword_only() -> None:
    for cls in (
        eventyard.saga.OrchestratorConfig,
        eventyard.saga.SagaTables,
        eventyard.saga.RetryPolicy,
        eventyard.saga.Backoff,
        eventyard.saga.SagaFilter,
        eventyard.saga.Step,
        eventyard.saga.Command,
    ):
        params = inspect.signature(cls).parameters.values()
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), cls
        assert cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
