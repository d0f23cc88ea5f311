"""Map a path through a schema's types onto the JSON pointer of its text, following names.

A path such as ``fields/2/type/fields/0`` crosses a named type that may be *defined* elsewhere in
the document (and only referenced here by name); the pointer returned is where the node is
written, so a line number can be found for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["document_pointer"]

_NAMED = ("record", "error", "enum", "fixed")
_KINDS = frozenset({*_NAMED, "array", "map"})


def _wraps(kind: Any) -> bool:
    """True when a ``{"type": ...}`` object only wraps another schema or a name."""
    return isinstance(kind, dict | list) or (isinstance(kind, str) and kind not in _KINDS)


def _definitions(parsed: Any) -> dict[str, tuple[Any, str]]:
    found: dict[str, tuple[Any, str]] = {}

    def walk(value: Any, pointer: str) -> None:
        if isinstance(value, list):
            for index, branch in enumerate(value):
                walk(branch, f"{pointer}/{index}")
        elif isinstance(value, dict):
            kind = value.get("type")
            if kind in _NAMED and isinstance(value.get("name"), str):
                found.setdefault(value["name"], (value, pointer))
            if isinstance(kind, dict | list):
                walk(kind, f"{pointer}/type")
            for index, field in enumerate(value.get("fields") or ()):
                if isinstance(field, dict):
                    walk(field.get("type"), f"{pointer}/fields/{index}/type")
            for key in ("items", "values"):
                if key in value:
                    walk(value[key], f"{pointer}/{key}")

    walk(parsed, "")
    return found


def document_pointer(parsed: Any, tokens: Sequence[str]) -> str:
    """The JSON pointer, in the document ``parsed`` came from, of the node ``tokens`` reach.

    Stops at the deepest node it can reach; ``parsed`` is fastavro's output, which keeps the
    input's shape (named types after their definition appear as full-name strings).
    """
    definitions: dict[str, tuple[Any, str]] | None = None
    value, pointer = parsed, ""
    for token in tokens:
        while True:
            if isinstance(value, str):
                if definitions is None:
                    definitions = _definitions(parsed)
                if value not in definitions:
                    return pointer
                value, pointer = definitions[value]
            elif isinstance(value, dict) and token not in value and _wraps(value.get("type")):
                value, pointer = value["type"], f"{pointer}/type"
            else:
                break
        if isinstance(value, dict) and token in value:
            value, pointer = value[token], f"{pointer}/{token}"
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value, pointer = value[int(token)], f"{pointer}/{token}"
        else:
            return pointer
    return pointer
