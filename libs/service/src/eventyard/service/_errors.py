"""Errors of the service runtime.

ServiceError
├── ConfigurationError   a setting is missing or unusable (permanent: fix the environment)
└── NotReady             the service cannot serve this request yet (HTTP 503)
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "NotReady", "ServiceError"]


class ServiceError(Exception):
    """Base of the service runtime's errors."""


class ConfigurationError(ServiceError):
    """A setting is missing or unusable; the message names the variable."""


class NotReady(ServiceError):
    """The database or Kafka is not reachable yet, or the service is shutting down."""
