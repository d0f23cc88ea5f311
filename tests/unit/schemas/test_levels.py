"""check_compatibility at Confluent's levels: which versions, which directions."""

from __future__ import annotations

from typing import Any

import pytest

from eventyard.schemas import (
    CompatibilityLevel,
    ConfigError,
    Direction,
    IncompatibilityType,
    check_compatibility,
)


def version(*fields: dict[str, Any]) -> dict[str, Any]:
    return {"type": "record", "name": "Order", "fields": list(fields)}


A = {"name": "a", "type": "string"}
B_DEFAULT = {"name": "b", "type": "string", "default": ""}
C = {"name": "c", "type": "int"}

V1 = version(A)
V2 = version(A, B_DEFAULT)
V3 = version(A, C)  # c has no default: old data cannot be read by V3


def test_none_checks_nothing() -> None:
    assert check_compatibility(version(C), [V1], CompatibilityLevel.NONE).compatible


def test_no_previous_version_is_compatible() -> None:
    assert check_compatibility(V1, [], "FULL_TRANSITIVE").compatible


def test_backward_checks_the_latest_only() -> None:
    # V1 -> V2 (b added) -> new drops b: BACKWARD against V2 only.
    new = version(A, C | {"default": 0})
    assert check_compatibility(new, [V1, V2], "BACKWARD").compatible


def test_transitive_checks_every_version_latest_first() -> None:
    new = version(A, {"name": "b", "type": "string"})  # b required: V1 lacks it
    assert check_compatibility(new, [V1, V2], "BACKWARD").compatible
    result = check_compatibility(new, [V1, V2], "BACKWARD_TRANSITIVE")
    assert not result.compatible
    (finding,) = result.messages
    assert finding.version == 1
    assert finding.direction is Direction.BACKWARD
    assert finding.type is IncompatibilityType.READER_FIELD_MISSING_DEFAULT_VALUE
    assert finding.message.startswith("The new schema has field 'b'")
    assert "version 1 has no such field" in finding.message


def test_forward_makes_the_new_schema_the_writer() -> None:
    # Old readers need c; the new schema dropped it.
    result = check_compatibility(V1, [V3], "FORWARD")
    (finding,) = result.messages
    assert finding.direction is Direction.FORWARD
    assert finding.message.startswith("Version 1 has field 'c'")
    assert check_compatibility(V3, [V1], "FORWARD").compatible


def test_full_checks_both_directions() -> None:
    result = check_compatibility(V3, [V1], "FULL")
    assert [m.direction for m in result.messages] == [Direction.BACKWARD]
    result = check_compatibility(V1, [V3], "FULL")
    assert [m.direction for m in result.messages] == [Direction.FORWARD]


@pytest.mark.parametrize("name", ["full_transitive", "Full-Transitive", " FULL_TRANSITIVE "])
def test_level_names_are_forgiving(name: str) -> None:
    assert CompatibilityLevel.parse(name) is CompatibilityLevel.FULL_TRANSITIVE


def test_unknown_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown compatibility level 'SIDEWAYS'"):
        check_compatibility(V1, [V1], "SIDEWAYS")


def test_level_properties() -> None:
    assert CompatibilityLevel.FULL.directions == (Direction.BACKWARD, Direction.FORWARD)
    assert CompatibilityLevel.FORWARD_TRANSITIVE.transitive
    assert not CompatibilityLevel.FORWARD.transitive
    assert CompatibilityLevel.NONE.directions == ()


def test_a_single_string_is_not_a_history() -> None:
    with pytest.raises(TypeError):
        check_compatibility(V1, '{"type": "string"}', "BACKWARD")
