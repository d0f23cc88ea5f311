"""Where each JSON value starts in a text, by JSON pointer (for errors and CI annotations)."""

from __future__ import annotations

import json
import re
from typing import Final

__all__ = ["line_of", "value_positions"]

_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_WS: Final = re.compile(r"[ \t\n\r]*")
_SCALAR: Final = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def value_positions(text: str) -> dict[str, int]:
    """Offsets of every value in ``text``, keyed by JSON pointer ("" is the root).

    Returns an empty mapping for text that is not JSON.
    """
    positions: dict[str, int] = {}
    try:
        end = _value(text, _skip(text, 0), "", positions)
    except (ValueError, IndexError):
        return {}
    return positions if _skip(text, end) == len(text) else {}


def line_of(text: str, pointer: str) -> int | None:
    """The 1-based line where ``pointer``'s value starts, or its nearest ancestor's."""
    positions = value_positions(text)
    while True:
        offset = positions.get(pointer)
        if offset is not None:
            return text.count("\n", 0, offset) + 1
        if not pointer:
            return None
        pointer = pointer.rpartition("/")[0]


def _skip(text: str, index: int) -> int:
    match = _WS.match(text, index)
    return match.end() if match else index


def _string(text: str, index: int) -> tuple[str, int]:
    match = _STRING.match(text, index)
    if not match:
        raise ValueError("unterminated string")
    return str(json.loads(match.group())), match.end()


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


# A JSON scanner branches on each kind of token; splitting it would hide the grammar.
def _value(text: str, index: int, pointer: str, out: dict[str, int]) -> int:  # noqa: PLR0912
    out[pointer] = index
    char = text[index]
    if char == "{":
        index = _skip(text, index + 1)
        if text[index] == "}":
            return index + 1
        while True:
            if text[index] != '"':
                raise ValueError("expected a key")
            key, index = _string(text, index)
            index = _skip(text, index)
            if text[index] != ":":
                raise ValueError("expected ':'")
            index = _value(text, _skip(text, index + 1), f"{pointer}/{_escape(key)}", out)
            index = _skip(text, index)
            if text[index] == "}":
                return index + 1
            if text[index] != ",":
                raise ValueError("expected ','")
            index = _skip(text, index + 1)
    if char == "[":
        index = _skip(text, index + 1)
        if text[index] == "]":
            return index + 1
        position = 0
        while True:
            index = _skip(text, _value(text, index, f"{pointer}/{position}", out))
            position += 1
            if text[index] == "]":
                return index + 1
            if text[index] != ",":
                raise ValueError("expected ','")
            index = _skip(text, index + 1)
    if char == '"':
        return _string(text, index)[1]
    match = _SCALAR.match(text, index)
    if not match:
        raise ValueError("unexpected character")
    return match.end()
