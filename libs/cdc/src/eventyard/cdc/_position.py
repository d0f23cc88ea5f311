"""Where a record sits in Kafka: the one value type the exceptions need, kept below them.

This module imports nothing from the package, so :mod:`eventyard.cdc._exceptions` can type
:attr:`DecodeError.position` with it and every other module can import both.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Position"]


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record sits in Kafka."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"
