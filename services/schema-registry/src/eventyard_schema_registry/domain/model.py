"""Value objects of the registry: references, stored schemas, subject versions, modes."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final

from eventyard.schemas import CompatibilityLevel
from eventyard_schema_registry.domain.errors import (
    InvalidCompatibilityLevel,
    InvalidMode,
    InvalidVersion,
)

__all__ = [
    "AVRO",
    "LATEST",
    "MAX_VERSION",
    "Mode",
    "RegisterRequest",
    "SchemaReference",
    "StoredSchema",
    "SubjectVersion",
    "parse_level",
    "parse_mode",
    "parse_version",
]

AVRO: Final = "AVRO"
LATEST: Final = -1
"""The version number that stands for "the latest version" (Confluent's ``-1``)."""
MAX_VERSION: Final = 2**31 - 1


class Mode(enum.StrEnum):
    """What a subject (or the whole registry) accepts.

    READWRITE: registrations with ids assigned by the registry. READONLY: no registration nor
    deletion. IMPORT: registrations that bring their own id (migration from another registry),
    without compatibility checks.
    """

    READWRITE = "READWRITE"
    READONLY = "READONLY"
    IMPORT = "IMPORT"


@dataclass(frozen=True, kw_only=True, slots=True)
class SchemaReference:
    """A named type the schema takes from another subject's version (Avro: its full name)."""

    name: str
    subject: str
    version: int


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredSchema:
    """A schema under its global id; ``schema`` is its canonical text."""

    id: int
    schema_type: str
    schema: str
    references: tuple[SchemaReference, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class SubjectVersion:
    """One version of a subject and the schema it holds."""

    subject: str
    version: int
    deleted: bool
    schema: StoredSchema


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisterRequest:
    """A schema as a client sends it; ``id`` and ``version`` only count in IMPORT mode."""

    schema: str
    schema_type: str = AVRO
    references: tuple[SchemaReference, ...] = field(default=())
    id: int | None = None
    version: int | None = None


def parse_version(text: str | int) -> int:
    """A version number from a path (``"latest"`` and ``-1`` give :data:`LATEST`)."""
    if isinstance(text, str) and text.strip().lower() == "latest":
        return LATEST
    try:
        number = int(text)
    except ValueError:
        raise InvalidVersion(str(text)) from None
    if number == LATEST or 1 <= number <= MAX_VERSION:
        return number
    raise InvalidVersion(str(text))


def parse_level(text: object) -> CompatibilityLevel:
    """A compatibility level by Confluent name, any case."""
    if not isinstance(text, str):
        raise InvalidCompatibilityLevel()
    try:
        return CompatibilityLevel(text.strip().upper())
    except ValueError:
        raise InvalidCompatibilityLevel() from None


def parse_mode(text: object) -> Mode:
    """A mode by name, any case."""
    if not isinstance(text, str):
        raise InvalidMode()
    try:
        return Mode(text.strip().upper())
    except ValueError:
        raise InvalidMode() from None
