"""Structural checks fastavro leaves out or reports without a location.

fastavro parses and resolves the schema; this walk only finds, with a JSON pointer, what Avro
Java (and so Confluent) would reject but fastavro accepts or fails on with a bare ``KeyError``:
missing ``fields``/``items``/``values``/``symbols``/``size``, invalid names, duplicate field
names, nested or duplicate union branches, a negative fixed size.
"""

from __future__ import annotations

import re
from typing import Any, Final

__all__ = ["find_problem"]

_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_PRIMITIVES: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
_COMPLEX: Final = frozenset({"record", "error", "enum", "fixed", "array", "map"})


class _Problem(Exception):
    def __init__(self, pointer: str, problem: str) -> None:
        super().__init__(problem)
        self.pointer = pointer or "/"
        self.problem = problem


def find_problem(schema: Any) -> tuple[str, str] | None:
    """The first structural problem as ``(json_pointer, description)``, or None."""
    try:
        _walk(schema, "", "")
    except _Problem as found:
        return found.pointer, found.problem
    return None


def _check_name(value: Any, pointer: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise _Problem(pointer, f"{what} must be a non-empty string, not {value!r}")
    for part in value.split("."):
        if not _NAME.match(part):
            raise _Problem(
                pointer, f"{what} {value!r} is not a valid Avro name ([A-Za-z_][A-Za-z0-9_]*)"
            )


def _full_name(schema: dict[str, Any], namespace: str, pointer: str) -> tuple[str, str]:
    name = schema.get("name")
    _check_name(name, f"{pointer}/name", "name")
    assert isinstance(name, str)  # checked above; narrows for mypy
    if "." in name:
        return name, name.rpartition(".")[0]
    space = schema.get("namespace", namespace)
    if space is None:
        space = ""
    if space:
        _check_name(space, f"{pointer}/namespace", "namespace")
    return (f"{space}.{name}" if space else name), space


def _branch_key(branch: Any, namespace: str) -> str:
    if isinstance(branch, str):
        if branch in _PRIMITIVES or "." in branch or not namespace:
            return branch
        return f"{namespace}.{branch}"
    if isinstance(branch, dict):
        kind = branch.get("type")
        if kind in ("record", "error", "enum", "fixed"):
            name = branch.get("name")
            if isinstance(name, str) and "." not in name:
                space = branch.get("namespace", namespace) or ""
                return f"{space}.{name}" if space else name
            return str(name)
        if isinstance(kind, str):
            return _branch_key(kind, namespace)
    return repr(branch)


# One branch per Avro schema kind, mirroring the spec's list of types.
def _walk(schema: Any, pointer: str, namespace: str) -> None:  # noqa: PLR0912
    if isinstance(schema, str):
        return
    if isinstance(schema, list):
        _union(schema, pointer, namespace)
        return
    if not isinstance(schema, dict):
        raise _Problem(pointer, f"a schema must be a string, an object or an array, not {schema!r}")
    if "type" not in schema:
        raise _Problem(pointer, 'schema object has no "type"')
    kind = schema["type"]
    if isinstance(kind, list | dict):
        _walk(kind, f"{pointer}/type", namespace)
        return
    if not isinstance(kind, str):
        raise _Problem(f"{pointer}/type", f'"type" must be a string, not {kind!r}')
    if kind not in _COMPLEX:
        return
    aliases = schema.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise _Problem(f"{pointer}/aliases", '"aliases" must be an array of strings')
    if kind in ("record", "error"):
        _record(schema, pointer, namespace)
    elif kind == "enum":
        _full_name(schema, namespace, pointer)
        symbols = schema.get("symbols")
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise _Problem(f"{pointer}/symbols", 'enum needs "symbols", an array of strings')
    elif kind == "fixed":
        _full_name(schema, namespace, pointer)
        size = schema.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise _Problem(
                f"{pointer}/size", f'fixed needs "size", a non-negative integer, not {size!r}'
            )
    elif kind == "array":
        if "items" not in schema:
            raise _Problem(pointer, 'array schema has no "items"')
        _walk(schema["items"], f"{pointer}/items", namespace)
    elif "values" not in schema:
        raise _Problem(pointer, 'map schema has no "values"')
    else:
        _walk(schema["values"], f"{pointer}/values", namespace)


def _record(schema: dict[str, Any], pointer: str, namespace: str) -> None:
    _, space = _full_name(schema, namespace, pointer)
    fields = schema.get("fields")
    if not isinstance(fields, list):
        raise _Problem(pointer, 'record needs "fields", an array of field objects')
    seen: set[str] = set()
    for index, field in enumerate(fields):
        at = f"{pointer}/fields/{index}"
        if not isinstance(field, dict):
            raise _Problem(at, f"a record field must be an object, not {field!r}")
        name = field.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise _Problem(f"{at}/name", f"field name {name!r} is not a valid Avro name")
        if name in seen:
            raise _Problem(f"{at}/name", f"duplicate field name {name!r}")
        seen.add(name)
        if "type" not in field:
            raise _Problem(at, f'field {name!r} has no "type"')
        aliases = field.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise _Problem(f"{at}/aliases", '"aliases" must be an array of strings')
        _walk(field["type"], f"{at}/type", space)


def _union(branches: list[Any], pointer: str, namespace: str) -> None:
    seen: dict[str, int] = {}
    for index, branch in enumerate(branches):
        at = f"{pointer}/{index}"
        if isinstance(branch, list):
            raise _Problem(at, "a union may not directly contain another union")
        key = _branch_key(branch, namespace)
        if key in seen:
            raise _Problem(at, f"duplicate {key!r} in union (also branch {seen[key]})")
        seen[key] = index
        _walk(branch, at, namespace)
