"""Schema references: named types a schema takes from other subjects, inlined for checking.

Confluent's Avro support parses each referenced schema first, so the main schema may name
their types (``"type": "com.acme.Address"``) without defining them. The compatibility rules
need one self-contained schema, so :func:`expand` writes each referenced definition in place
of its first use (in document order, as Avro requires) and leaves later uses as names.
The stored schema keeps its original form and its references; only checks see the expansion.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

__all__ = ["expand", "named_types"]

_PRIMITIVES: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
_NAMED: Final = frozenset({"record", "error", "enum", "fixed"})


def expand(schema: Any, referenced: Iterable[Any]) -> Any:
    """``schema`` with the named types of ``referenced`` (self-contained schemas) inlined."""
    library: dict[str, dict[str, Any]] = {}
    for value in referenced:
        for fullname, definition in named_types(value).items():
            library.setdefault(fullname, definition)
    if not library:
        return schema
    return _Inliner(library).schema(schema, "", inlined=False)


def named_types(schema: Any) -> dict[str, dict[str, Any]]:
    """Every named type defined in ``schema``, by full name, with an explicit namespace."""
    found: dict[str, dict[str, Any]] = {}
    _collect(schema, "", found)
    return found


def _fullname(definition: Mapping[str, Any], namespace: str) -> tuple[str, str]:
    name = str(definition["name"])
    if "." in name:
        return name, name.rpartition(".")[0]
    own = definition.get("namespace", namespace)
    own = own if isinstance(own, str) else namespace
    return (f"{own}.{name}" if own else name), own


def _is_definition(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") in _NAMED
        and isinstance(value.get("name"), str)
    )


def _children(value: dict[str, Any], namespace: str) -> list[tuple[Any, str]]:
    """The schemas nested in ``value``, each with the namespace it inherits."""
    kind = value.get("type")
    if _is_definition(value):
        own = _fullname(value, namespace)[1]
        fields = value.get("fields") if kind in ("record", "error") else None
        if not isinstance(fields, list):
            return []
        return [(f["type"], own) for f in fields if isinstance(f, dict) and "type" in f]
    if kind == "array":
        return [(value.get("items"), namespace)]
    if kind == "map":
        return [(value.get("values"), namespace)]
    return [(kind, namespace)] if isinstance(kind, dict | list) else []


def _collect(value: Any, namespace: str, found: dict[str, dict[str, Any]]) -> None:
    if isinstance(value, list):
        for branch in value:
            _collect(branch, namespace, found)
        return
    if not isinstance(value, dict):
        return
    if _is_definition(value):
        fullname, own = _fullname(value, namespace)
        explicit = {**value, "name": fullname.rpartition(".")[2], "namespace": own}
        found.setdefault(fullname, explicit)
    for child, inherited in _children(value, namespace):
        _collect(child, inherited, found)


class _Inliner:
    def __init__(self, library: Mapping[str, dict[str, Any]]) -> None:
        self.library = library
        self.defined: set[str] = set()

    def schema(self, value: Any, namespace: str, *, inlined: bool) -> Any:
        if isinstance(value, str):
            return self.name(value, namespace)
        if isinstance(value, list):
            return [self.schema(branch, namespace, inlined=inlined) for branch in value]
        if not isinstance(value, dict):
            return value
        if _is_definition(value):
            return self.definition(value, namespace, inlined=inlined)
        kind = value.get("type")
        if set(value) == {"type"}:
            return self.schema(kind, namespace, inlined=inlined)
        out = dict(value)
        if kind == "array":
            out["items"] = self.schema(value.get("items"), namespace, inlined=inlined)
        elif kind == "map":
            out["values"] = self.schema(value.get("values"), namespace, inlined=inlined)
        else:
            out["type"] = self.schema(kind, namespace, inlined=inlined)
        return out

    def definition(self, value: dict[str, Any], namespace: str, *, inlined: bool) -> Any:
        fullname, own = _fullname(value, namespace)
        if inlined and fullname in self.defined:
            return fullname  # already written earlier: a name is enough
        self.defined.add(fullname)
        fields = value.get("fields")
        if value["type"] not in ("record", "error") or not isinstance(fields, list):
            return value
        out = dict(value)
        out["fields"] = [
            {**f, "type": self.schema(f["type"], own, inlined=inlined)}
            if isinstance(f, dict) and "type" in f
            else f
            for f in fields
        ]
        return out

    def name(self, name: str, namespace: str) -> Any:
        if name in _PRIMITIVES:
            return name
        candidates = [f"{namespace}.{name}", name] if namespace and "." not in name else [name]
        if any(full in self.defined for full in candidates):
            return name
        for full in candidates:
            definition = self.library.get(full)
            if definition is not None:
                return self.definition(definition, "", inlined=True)
        return name
