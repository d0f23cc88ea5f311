"""Hypothesis strategies for Avro schemas and their evolutions (the one place they live).

Schemas are generated as JSON values (what a user writes), with unique names for named types,
valid defaults, and no field aliases (an alias matching a sibling field makes Avro Java's checker
throw, so such a schema is not compatible even with itself).
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from hypothesis import strategies as st

__all__ = ["avro_schemas", "default_for", "record_histories", "record_schemas"]

PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
LOGICAL = (
    {"type": "int", "logicalType": "date"},
    {"type": "long", "logicalType": "timestamp-millis"},
    {"type": "string", "logicalType": "uuid"},
    {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
)
PROMOTIONS = {
    "int": "long",
    "long": "float",
    "float": "double",
    "string": "bytes",
    "bytes": "string",
}
SYMBOLS = ("A", "B", "C", "D", "E")


def _kind(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    kind = schema["type"]
    return kind if isinstance(kind, str) else _kind(kind)


def default_for(schema: Any) -> Any:
    """A valid default value for ``schema`` (a union's is its first branch's)."""
    kind = _kind(schema)
    simple: dict[str, Any] = {
        "null": None,
        "boolean": False,
        "int": 0,
        "long": 0,
        "float": 0.0,
        "double": 0.0,
        "bytes": "",
        "string": "",
        "array": [],
        "map": {},
    }
    if kind in simple:
        return simple[kind]
    if kind == "union":
        return default_for(schema[0])
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "fixed":
        return "\u0000" * schema["size"]
    return {field["name"]: default_for(field["type"]) for field in schema["fields"]}


_leaf = st.one_of(
    st.sampled_from(PRIMITIVES),
    st.sampled_from(LOGICAL).map(copy.deepcopy),
    st.builds(lambda n: {"type": "enum", "symbols": list(SYMBOLS[:n])}, st.integers(1, 4)),
    st.builds(lambda size: {"type": "fixed", "size": size}, st.integers(0, 16)),
)


def _union(branches: list[Any]) -> list[Any]:
    seen: set[str] = set()
    unique: list[Any] = []
    for branch in branches:
        kind = _kind(branch)
        key = kind if kind not in ("record", "enum", "fixed") else f"{kind}{id(branch)}"
        if kind != "union" and key not in seen:
            seen.add(key)
            unique.append(branch)
    return unique or ["null"]


def _record(types: list[Any], defaults: list[bool]) -> dict[str, Any]:
    fields = []
    for index, (field_type, with_default) in enumerate(zip(types, defaults, strict=False)):
        field: dict[str, Any] = {"name": f"f{index}", "type": field_type}
        if with_default:
            field["default"] = default_for(field_type)
        fields.append(field)
    return {"type": "record", "fields": fields}


def _extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda items: {"type": "array", "items": items}, children),
        st.builds(lambda values: {"type": "map", "values": values}, children),
        st.builds(_union, st.lists(children, min_size=1, max_size=4)),
        st.builds(
            _record,
            st.lists(children, max_size=5),
            st.lists(st.booleans(), min_size=5, max_size=5),
        ),
    )


def _name_types(schema: Any, counter: itertools.count[int] | None = None) -> Any:
    """Copy ``schema`` giving every named type a unique name (T0, T1, ...)."""
    counter = counter or itertools.count()
    if isinstance(schema, list):
        return [_name_types(branch, counter) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    named = dict(schema)
    if named["type"] in ("record", "enum", "fixed"):
        named["name"] = f"T{next(counter)}"
    if named["type"] == "record":
        named["fields"] = [
            {**field, "type": _name_types(field["type"], counter)} for field in named["fields"]
        ]
    for key in ("items", "values"):
        if key in named:
            named[key] = _name_types(named[key], counter)
    return named


def _fix_union_defaults(schema: Any) -> Any:
    """Recompute defaults after naming (a union default follows its first branch)."""
    if isinstance(schema, list):
        return [_fix_union_defaults(branch) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    fixed = dict(schema)
    if fixed["type"] == "record":
        fields = []
        for field in fixed["fields"]:
            new = {**field, "type": _fix_union_defaults(field["type"])}
            if "default" in new:
                new["default"] = default_for(new["type"])
            fields.append(new)
        fixed["fields"] = fields
    for key in ("items", "values"):
        if key in fixed:
            fixed[key] = _fix_union_defaults(fixed[key])
    return fixed


avro_schemas: st.SearchStrategy[Any] = st.recursive(_leaf, _extend, max_leaves=12).map(
    lambda schema: _fix_union_defaults(_name_types(schema))
)
"""Any Avro schema: primitives, logical types, enums, fixed, arrays, maps, unions, records."""

record_schemas: st.SearchStrategy[dict[str, Any]] = st.builds(
    lambda types, defaults: _fix_union_defaults(_name_types(_record(types, defaults))),
    st.lists(avro_schemas, min_size=1, max_size=6),
    st.lists(st.booleans(), min_size=6, max_size=6),
)
"""A top-level record, as event schemas are."""


def _next_name(schema: dict[str, Any]) -> str:
    taken = {field["name"] for field in schema["fields"]}
    return next(f"g{i}" for i in itertools.count() if f"g{i}" not in taken)


@st.composite
def _evolve(draw: st.DrawFn, schema: dict[str, Any]) -> dict[str, Any]:
    """One realistic change to a record: add, drop, promote, narrow, make optional."""
    new = copy.deepcopy(schema)
    fields = new["fields"]
    change = draw(st.sampled_from(("add", "add_default", "drop", "promote", "demote", "optional")))
    if change in ("add", "add_default") or not fields:
        field_type = draw(st.sampled_from(PRIMITIVES))
        field: dict[str, Any] = {"name": _next_name(new), "type": field_type}
        if change == "add_default":
            field["default"] = default_for(field_type)
        fields.insert(draw(st.integers(0, len(fields))), field)
        return new
    index = draw(st.integers(0, len(fields) - 1))
    target = fields[index]
    if change == "drop":
        del fields[index]
    elif change == "promote" and isinstance(target["type"], str) and target["type"] in PROMOTIONS:
        target["type"] = PROMOTIONS[target["type"]]
        target.pop("default", None)
    elif change == "demote" and isinstance(target["type"], str):
        back = {v: k for k, v in PROMOTIONS.items() if k != "bytes"}
        if target["type"] in back:
            target["type"] = back[target["type"]]
            target.pop("default", None)
    elif change == "optional" and _kind(target["type"]) not in ("union", "null"):
        target["type"] = ["null", target["type"]]
        target["default"] = None
    return new


@st.composite
def record_histories(draw: st.DrawFn, max_versions: int = 4) -> list[dict[str, Any]]:
    """A record and 1..max_versions-1 successive evolutions of it, oldest first."""
    versions = [draw(record_schemas)]
    for _ in range(draw(st.integers(1, max_versions - 1))):
        versions.append(draw(_evolve(versions[-1])))
    return versions
