"""Errors raised by eventyard.cdc.

::

    CdcError
    ├── ConfigError             a projection, runner or decoder setting is unusable
    ├── DecodeError             permanent: a record is not a Debezium event we can read;
    │                           says what is wrong, which field, and where (topic[partition]@offset)
    ├── SchemaUnavailable       retryable: the Avro writer schema could not be fetched now
    └── ProjectionError         the runner cannot go on safely
        ├── DeadLetterFailed        retryable: a poison event could not be written to the DLT
        └── RebuildFailed           a rebuild did not complete; the live projection is untouched

A poison event (one that fails to decode, or whose handler raises) is not an error of the runner:
it goes to the dead-letter topic with error headers and the runner goes on. A handler can send an
event there on purpose by raising :class:`DecodeError` or any exception of its own.
"""

from __future__ import annotations

from eventyard.cdc._position import Position

__all__ = [
    "CdcError",
    "ConfigError",
    "DeadLetterFailed",
    "DecodeError",
    "ProjectionError",
    "RebuildFailed",
    "SchemaUnavailable",
]


class CdcError(Exception):
    """Base of every error eventyard.cdc raises on purpose."""

    retryable: bool = False


class ConfigError(CdcError, ValueError):
    """A projection, runner or decoder setting is unusable."""


class DecodeError(CdcError, ValueError):
    """A record cannot be decoded as a Debezium event.

    ``problem`` says what is wrong, ``field`` the dotted path of the offending field (``after.n``)
    when known, ``position`` the record's topic, partition and offset when known.
    """

    def __init__(
        self, problem: str, *, field: str | None = None, position: Position | None = None
    ) -> None:
        self.problem = problem
        self.field = field
        self.position = position
        super().__init__(self._render())

    def _render(self) -> str:
        at = f"{self.field}: " if self.field else ""
        where = f" (in {self.position})" if self.position is not None else ""
        return f"{at}{self.problem}{where}"

    def at(self, position: Position) -> DecodeError:
        """The same error, located at ``position``."""
        return DecodeError(self.problem, field=self.field, position=position)

    def within(self, prefix: str) -> DecodeError:
        """The same error with ``prefix`` put before its field path."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return DecodeError(self.problem, field=field, position=self.position)


class SchemaUnavailable(CdcError):
    """The writer schema of an Avro record could not be fetched now; retrying may help."""

    retryable = True


class ProjectionError(CdcError):
    """The projection runner cannot go on safely."""


class DeadLetterFailed(ProjectionError):
    """A poison event could not be written to the dead-letter topic; its batch is not committed."""

    retryable = True


class RebuildFailed(ProjectionError):
    """A rebuild did not complete; the live projection and its offsets are untouched."""
