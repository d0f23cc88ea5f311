"""Errors raised by eventyard.schemas.

::

    SchemasError
    ├── SchemaParseError        a schema is not valid Avro: the problem, JSON pointer, file
    ├── ConfigError             a level name, compatibility.toml or a command option is unusable
    ├── HistoryError            git could not produce a schema file's history
    └── RegistryError           a schema registry call failed
        ├── RegistryUnavailable     retryable: connection refused, timeout, HTTP 429 or 5xx
        └── RegistryRejected        permanent: other HTTP 4xx (409 incompatible, 422 invalid)

An incompatible schema is not an error: it is a :class:`~eventyard.schemas.CompatibilityResult`
whose ``compatible`` is false.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ConfigError",
    "HistoryError",
    "RegistryError",
    "RegistryRejected",
    "RegistryUnavailable",
    "SchemaParseError",
    "SchemasError",
]


class SchemasError(Exception):
    """Base of every error eventyard.schemas raises on purpose."""


class SchemaParseError(SchemasError, ValueError):
    """A schema is not valid Avro (or not valid JSON).

    ``problem`` says what is wrong; ``pointer`` is the JSON pointer of the offending node when
    known; ``source`` is the file it came from; ``line``/``column`` locate it in that text.
    """

    def __init__(
        self,
        problem: str,
        *,
        pointer: str | None = None,
        source: Path | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.problem = problem
        self.pointer = pointer
        self.source = source
        self.line = line
        self.column = column
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.source is not None:
            where = str(self.source)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        at = f" (at {self.pointer})" if self.pointer else ""
        return f"{where}invalid Avro schema: {self.problem}{at}"

    def located(
        self, *, source: Path | None, line: int | None = None, column: int | None = None
    ) -> SchemaParseError:
        """The same error, attributed to ``source`` (and a line in it, when known)."""
        return SchemaParseError(
            self.problem,
            pointer=self.pointer,
            source=source,
            line=self.line if line is None else line,
            column=self.column if column is None else column,
        )


class ConfigError(SchemasError, ValueError):
    """A compatibility level, ``compatibility.toml`` or a command option is unusable."""


class HistoryError(SchemasError):
    """git could not list or show a schema file's earlier versions."""


class RegistryError(SchemasError):
    """A schema registry call failed. ``retryable`` tells whether trying again may help."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, error_code: int | None = None):
        self.status = status
        self.error_code = error_code
        super().__init__(message)


class RegistryUnavailable(RegistryError):
    """The registry could not answer now (network, timeout, 429, 5xx); retrying may help."""

    retryable = True


class RegistryRejected(RegistryError):
    """The registry refused the request (4xx); retrying the same request will not help."""

    retryable = False
