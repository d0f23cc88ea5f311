"""One exception tree, drawn in the docstring, with retryable and permanent errors apart."""

from __future__ import annotations

import pytest

from eventyard import outbox
from eventyard.outbox import _exceptions

PERMANENT: list[type[outbox.OutboxError]] = [
    outbox.ConfigError,
    outbox.PublishError,
    outbox.InvalidEvent,
    outbox.SerializationError,
    outbox.PayloadTooLarge,
    outbox.ConnectorError,
    outbox.RejectMessage,
]
RETRYABLE: list[type[outbox.OutboxError]] = [
    outbox.RetryableError,
    outbox.StoreUnavailable,
    outbox.BrokerUnavailable,
    outbox.RetryLater,
]


@pytest.mark.parametrize("error", PERMANENT + RETRYABLE)
def test_every_error_is_an_outbox_error_and_drawn_in_the_tree(error: type[Exception]) -> None:
    assert issubclass(error, outbox.OutboxError)
    assert error.__name__ in (_exceptions.__doc__ or "")


@pytest.mark.parametrize("error", PERMANENT)
def test_permanent_errors_are_not_retryable(error: type[outbox.OutboxError]) -> None:
    assert error.retryable is False


@pytest.mark.parametrize("error", RETRYABLE)
def test_retryable_errors_say_so(error: type[outbox.OutboxError]) -> None:
    assert error.retryable is True


def test_every_class_in_the_module_is_in_the_drawing() -> None:
    for name in _exceptions.__all__:
        assert name in (_exceptions.__doc__ or ""), name


def test_the_old_config_error_name_is_the_same_class() -> None:
    assert outbox.ConfigurationError is outbox.ConfigError
    assert "ConfigurationError" in outbox.__all__


def test_payload_too_large_names_event_size_and_limit() -> None:
    error = outbox.PayloadTooLarge(
        event_id="e-1", event_type="Big", size=2_000_000, limit=1_000_000
    )
    assert "e-1" in str(error)
    assert "2000000" in str(error)
    assert "1000000" in str(error)
    assert isinstance(error, outbox.PublishError)
