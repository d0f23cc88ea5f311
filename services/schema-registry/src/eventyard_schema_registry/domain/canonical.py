"""The canonical text of a schema, and the fingerprint that gives it its global id.

Confluent identifies a schema by Avro's full ``Schema.toString()`` (plus its type and
references), not by Avro's *Parsing Canonical Form*: the latter drops ``default``, ``doc``,
``aliases`` and ``order``, so two schemas that read data differently (a field with and without
a default) would share one id and the second registration would be taken for the first.
The canonical text here keeps every attribute and removes only what carries no meaning:
whitespace, the order of object keys, and ``{"type": "x"}`` wrappers around a bare name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, Final

from eventyard_schema_registry.domain.model import SchemaReference

__all__ = ["canonical_text", "fingerprint"]

_SCHEMA_KEYS: Final = (
    "type",
    "name",
    "namespace",
    "doc",
    "aliases",
    "fields",
    "symbols",
    "default",
    "items",
    "values",
    "size",
    "logicalType",
    "precision",
    "scale",
)
_FIELD_KEYS: Final = ("name", "type", "doc", "default", "order", "aliases")


def canonical_text(schema: Any) -> str:
    """Compact JSON of a parsed schema value with keys in Avro's order, then sorted."""
    return json.dumps(_schema(schema), separators=(",", ":"), ensure_ascii=False)


def fingerprint(
    schema_type: str, canonical: str, references: Sequence[SchemaReference] = ()
) -> str:
    """SHA-256 of type, canonical text and references: equal only for the same schema."""
    payload = json.dumps(
        [schema_type, canonical, [[r.name, r.subject, r.version] for r in references]],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _schema(value: Any) -> Any:
    if isinstance(value, list):
        return [_schema(branch) for branch in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"type"} and isinstance(value["type"], str):
        return value["type"]
    out: dict[str, Any] = {}
    for key in _ordered(value, _SCHEMA_KEYS):
        item = value[key]
        if key in ("type", "items", "values"):
            out[key] = _schema(item)
        elif key == "fields" and isinstance(item, list):
            out[key] = [_field(f) for f in item]
        else:
            out[key] = _plain(item)
    return out


def _field(value: Any) -> Any:
    if not isinstance(value, dict):
        return _plain(value)
    return {
        key: _schema(value[key]) if key == "type" else _plain(value[key])
        for key in _ordered(value, _FIELD_KEYS)
    }


def _plain(value: Any) -> Any:
    """A JSON value that is not a schema (a default, a property): keys sorted, deep."""
    if isinstance(value, dict):
        return {key: _plain(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _ordered(value: dict[str, Any], known: tuple[str, ...]) -> list[str]:
    first = [key for key in known if key in value]
    return first + sorted(key for key in value if key not in known)
