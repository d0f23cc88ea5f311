"""Every error ``eventyard.outbox`` raises, in one tree.

::

    OutboxError
    ├── ConfigError            permanent  a table name, template or setting is wrong
    ├── PublishError           permanent  publish() refused the event; nothing was written
    │   ├── InvalidEvent                  empty aggregate id; aggregate type unfit for a topic
    │   ├── SerializationError            the payload could not be serialized (names the event)
    │   └── PayloadTooLarge               the message would exceed the Kafka message limit
    ├── ConnectorError         permanent  Kafka Connect rejected the connector, or it failed
    ├── RetryableError         retryable  a dependency is away; the same call may succeed later
    │   ├── StoreUnavailable              PostgreSQL cannot be reached
    │   └── BrokerUnavailable             Kafka cannot be reached, or a send failed transiently
    └── HandlerOutcome                    raised BY an inbox handler to decide a message's fate
        ├── RejectMessage      permanent  dead-letter now, without further attempts
        └── RetryLater         retryable  try again after a pause; not counted as an attempt

``error.retryable`` says which side of the line an error is on: a relay or consumer backs off
and tries again on a retryable error, and never retries a permanent one.

``ConfigurationError`` is the old name of :class:`ConfigError` (the same class), kept for one
release; every Eventyard library calls its configuration error ``ConfigError``.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BrokerUnavailable",
    "ConfigError",
    "ConfigurationError",
    "ConnectorError",
    "HandlerOutcome",
    "InvalidEvent",
    "OutboxError",
    "PayloadTooLarge",
    "PublishError",
    "RejectMessage",
    "RetryLater",
    "RetryableError",
    "SerializationError",
    "StoreUnavailable",
]


class OutboxError(Exception):
    """Base of every error raised by ``eventyard.outbox``."""

    retryable: ClassVar[bool] = False


class ConfigError(OutboxError, ValueError):
    """A table name, topic template, serializer or setting is wrong; fix the configuration."""


ConfigurationError = ConfigError
"""Deprecated: the old name of :class:`ConfigError`, kept for one release."""


class PublishError(OutboxError):
    """``publish`` refused the event before writing anything."""


class InvalidEvent(PublishError, ValueError):
    """The event cannot be published as given (the message names the field)."""


class SerializationError(PublishError):
    """The payload could not be serialized with the configured serializer."""


class PayloadTooLarge(PublishError):
    """The Kafka message for this event would exceed the configured message limit."""

    def __init__(self, *, event_id: str, event_type: str, size: int, limit: int) -> None:
        self.event_id = event_id
        self.event_type = event_type
        self.size = size
        self.limit = limit
        super().__init__(
            f"event {event_id} ({event_type}) would make a Kafka message of {size} bytes, over "
            f"the limit of {limit} bytes (max_message_bytes); store large data elsewhere and "
            "publish a reference to it, or raise the limit on the topic, the broker and the Outbox"
        )


class ConnectorError(OutboxError):
    """Kafka Connect rejected the connector config, or the connector or a task failed."""


class RetryableError(OutboxError):
    """A dependency is away for now; the same operation may succeed later."""

    retryable: ClassVar[bool] = True


class StoreUnavailable(RetryableError):
    """PostgreSQL cannot be reached (connection refused or lost)."""


class BrokerUnavailable(RetryableError):
    """Kafka cannot be reached, or a send failed with a transient error."""


class HandlerOutcome(OutboxError):
    """Raised by an inbox handler to decide what happens to the message."""


class RejectMessage(HandlerOutcome):
    """The message can never be handled: send it to the dead-letter topic now."""


class RetryLater(HandlerOutcome):
    """Handle the message again after a pause; the attempt is not counted as a failure."""

    retryable: ClassVar[bool] = True
