"""Compatibility levels with Confluent Schema Registry's names and meaning."""

from __future__ import annotations

import enum

from eventyard.schemas._exceptions import ConfigError

__all__ = ["CompatibilityLevel", "Direction"]


class Direction(enum.StrEnum):
    """Which way a check reads data.

    BACKWARD: the new schema (reader) reads data written with an earlier version (writer).
    FORWARD: an earlier version (reader) reads data written with the new schema (writer).
    """

    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"


class CompatibilityLevel(enum.StrEnum):
    """Confluent's compatibility levels.

    Non-transitive levels compare the new schema with the latest version only; ``*_TRANSITIVE``
    levels with every earlier version. ``NONE`` checks nothing.
    """

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @classmethod
    def parse(cls, value: CompatibilityLevel | str) -> CompatibilityLevel:
        """The level named by ``value`` (any case; ``-`` may stand for ``_``)."""
        if isinstance(value, CompatibilityLevel):
            return value
        key = str(value).strip().upper().replace("-", "_")
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(level.value for level in cls)
            raise ConfigError(
                f"unknown compatibility level {value!r}; expected one of {names}"
            ) from None

    @property
    def transitive(self) -> bool:
        """True when every earlier version is checked, not only the latest."""
        return self.value.endswith("_TRANSITIVE")

    @property
    def directions(self) -> tuple[Direction, ...]:
        """The directions this level checks, backward first."""
        base = self.value.removesuffix("_TRANSITIVE")
        if base == "BACKWARD":
            return (Direction.BACKWARD,)
        if base == "FORWARD":
            return (Direction.FORWARD,)
        if base == "FULL":
            return (Direction.BACKWARD, Direction.FORWARD)
        return ()
