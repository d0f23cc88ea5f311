"""Parsing and compatibility checks on top of :mod:`eventyard.schemas`, in Confluent's words."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eventyard.schemas import (
    CompatibilityLevel,
    Incompatibility,
    Schema,
    SchemaParseError,
    check_compatibility,
    parse_schema,
)
from eventyard_schema_registry.domain.errors import InvalidSchema
from eventyard_schema_registry.domain.model import AVRO
from eventyard_schema_registry.domain.references import expand

__all__ = ["Checked", "compatibility_messages", "load_json", "parse_avro"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Checked:
    """An earlier version as a check sees it: its number, expanded schema and stored text."""

    version: int
    schema: Schema
    text: str


def load_json(text: str) -> Any:
    """The JSON value of a schema's text; :class:`InvalidSchema` when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidSchema(
            f"Invalid schema of type {AVRO}, details: not valid JSON: {error.msg} "
            f"(line {error.lineno}, column {error.colno})"
        ) from None


def parse_avro(value: Any, referenced: Iterable[Any] = ()) -> tuple[Schema, Any]:
    """Validate ``value`` with the named types of ``referenced`` (self-contained schemas).

    Returns the parsed schema and the self-contained JSON value it was parsed from.
    """
    expanded = expand(value, referenced)
    # Objects and unions parse as values; anything else (a name, null) as the JSON it was,
    # so that a string holding JSON is a type name, not a schema.
    given = expanded if isinstance(expanded, dict | list) else json.dumps(expanded)
    try:
        return parse_schema(given), expanded
    except SchemaParseError as error:
        raise InvalidSchema(f"Invalid schema of type {AVRO}, details: {error}") from None


def compatibility_messages(
    new: Schema, previous: Sequence[Checked], level: CompatibilityLevel
) -> list[str]:
    """Why ``new`` may not follow ``previous`` (oldest first) at ``level``; empty when it may.

    As Confluent: only the most recent incompatible version is reported, each finding as
    ``{errorType:..., description:..., additionalInfo:...}``, then that version and its schema,
    then the level.
    """
    result = check_compatibility(new, [p.schema for p in previous], level)
    if result.compatible:
        return []
    position = max(m.version or len(previous) for m in result.messages)
    earlier = previous[position - 1]
    findings = [m for m in result.messages if (m.version or len(previous)) == position]
    return [
        *(_finding(m, position, earlier.version) for m in findings),
        f"{{oldSchemaVersion: {earlier.version}}}",
        f"{{oldSchema: '{earlier.text}'}}",
        f"{{validateFields: 'false', compatibility: '{level.value}'}}",
    ]


def _finding(message: Incompatibility, position: int, version: int) -> str:
    # The checker names earlier schemas by their position in the list it was given; the
    # subject's own numbering differs once versions are deleted.
    description = re.sub(rf"\bversion {position}\b", f"version {version}", message.message)
    return (
        f"{{errorType:'{message.type.value}', description:'{description}', "
        f"additionalInfo:'{message.location}'}}"
    )
