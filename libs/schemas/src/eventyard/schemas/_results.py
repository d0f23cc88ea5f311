"""What a compatibility check returns."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from eventyard.schemas._levels import Direction

__all__ = ["CompatibilityResult", "Incompatibility", "IncompatibilityType"]


class IncompatibilityType(enum.StrEnum):
    """Why a reader cannot read a writer's data; Avro Java's names, plus two for its exceptions."""

    NAME_MISMATCH = "NAME_MISMATCH"
    FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
    MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
    READER_FIELD_MISSING_DEFAULT_VALUE = "READER_FIELD_MISSING_DEFAULT_VALUE"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"
    #: A reader field matches several writer fields through its aliases. Avro Java's checker
    #: throws here and Confluent reports the exception as an incompatibility.
    AMBIGUOUS_FIELD_ALIAS = "AMBIGUOUS_FIELD_ALIAS"
    #: The checker failed unexpectedly (for example a schema nested too deeply); counted as
    #: incompatible, as Confluent does with an exception.
    CHECKER_EXCEPTION = "CHECKER_EXCEPTION"


@dataclass(frozen=True, kw_only=True, slots=True)
class Incompatibility:
    """One reason a check failed.

    ``location`` is a JSON pointer as Avro Java reports it (``/fields/3/type``): field indexes
    are the reader's, union indexes the writer's. ``version`` is the 1-based position of the
    earlier schema concerned in ``previous`` (None for a bare reader/writer check);
    ``direction`` says whether the new schema was the reader (BACKWARD) or the writer (FORWARD).
    ``line`` is the line in the new schema's source text of the offending node, when known.
    """

    type: IncompatibilityType
    location: str
    message: str
    version: int | None = None
    direction: Direction | None = None
    line: int | None = None

    def __str__(self) -> str:
        against = (
            f"v{self.version} {self.direction.lower()}: " if self.version and self.direction else ""
        )
        return f"{against}{self.type} at {self.location}: {self.message}"


@dataclass(frozen=True, kw_only=True, slots=True)
class CompatibilityResult:
    """The verdict of a check and, when incompatible, every reason found."""

    compatible: bool
    messages: tuple[Incompatibility, ...] = field(default=())

    @classmethod
    def of(cls, messages: tuple[Incompatibility, ...]) -> CompatibilityResult:
        """Compatible exactly when there is no message."""
        return cls(compatible=not messages, messages=messages)
