"""Errors of the service runtime.

ServiceError
├── ConfigError          a setting is missing or unusable (permanent: fix the environment)
└── NotReady             the service cannot serve this request yet (HTTP 503)

``ConfigurationError`` is the old name of :class:`ConfigError` (the same class), kept for one
release; every Eventyard library calls its configuration error ``ConfigError``.
"""

from __future__ import annotations

__all__ = ["ConfigError", "ConfigurationError", "NotReady", "ServiceError"]


class ServiceError(Exception):
    """Base of the service runtime's errors."""


class ConfigError(ServiceError):
    """A setting is missing or unusable; the message names the variable."""


ConfigurationError = ConfigError
"""Deprecated: the old name of :class:`ConfigError`, kept for one release."""


class NotReady(ServiceError):
    """The database or Kafka is not reachable yet, or the service is shutting down."""
