"""Parsing Avro schemas with fastavro into the graph the rule engine walks, with a cache."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeAlias

import fastavro.schema
from fastavro.schema import SchemaParseException, UnknownType

from eventyard.schemas._exceptions import SchemaParseError
from eventyard.schemas._jsonpos import line_of
from eventyard.schemas._lint import find_problem
from eventyard.schemas._nodes import NamedNode, Node, build_graph

__all__ = ["Schema", "SchemaInput", "clear_parse_cache", "parse_schema"]

_BARE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_CACHE_SIZE: Final = 8192


class Schema:
    """A parsed, valid Avro schema.

    ``text`` is the schema as compact JSON with sorted keys (equal schemas have equal text);
    ``original`` the text as given; ``source`` the file it was read from, if any.
    Instances are immutable and shared: parsing the same text twice returns the same object.
    """

    __slots__ = ("_named", "_parsed", "_root", "_text", "_value", "name", "original", "source")

    original: str
    source: Path | None
    name: str

    def __init__(
        self,
        *,
        value: Any,
        original: str,
        source: Path | None,
        root: Node,
        parsed: Any,
        named: Mapping[str, Any],
    ) -> None:
        self._value = value
        self._text: str | None = None
        self.original = original
        self.source = source
        self.name = root.fullname if isinstance(root, NamedNode) else root.describe()
        self._root = root
        self._parsed = parsed
        self._named = named

    def with_source(self, source: Path | None, original: str) -> Schema:
        """The same schema, read from ``source`` whose text is ``original``."""
        if source == self.source and original == self.original:
            return self
        return Schema(
            value=self._value,
            original=original,
            source=source,
            root=self._root,
            parsed=self._parsed,
            named=self._named,
        )

    @property
    def text(self) -> str:
        """The schema as compact JSON with sorted keys; equal schemas have equal text."""
        if self._text is None:
            self._text = json.dumps(self._value, sort_keys=True, separators=(",", ":"))
        return self._text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        where = f", source={str(self.source)!r}" if self.source else ""
        return f"Schema({self.name!r}{where})"


SchemaInput: TypeAlias = "Schema | str | Path | Mapping[str, Any] | Sequence[Any]"
"""What the API accepts as a schema: parsed, JSON text (or a bare type name), a dict or list
of parsed JSON, or the path of an ``.avsc`` file."""


def parse_schema(schema: SchemaInput) -> Schema:
    """Parse and validate an Avro schema.

    Raises :class:`SchemaParseError` naming what is wrong, where (JSON pointer, and line when the
    schema came from a file), and the file.
    """
    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, Path):
        return _parse_file(schema)
    if isinstance(schema, str):
        return _parse_text(schema)
    if isinstance(schema, Mapping | list | tuple):
        try:
            text = json.dumps(schema, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise SchemaParseError(f"not JSON-serialisable: {error}") from None
        return _parse_text(text)
    raise SchemaParseError(f"expected JSON text, a dict, a list or a Path, not {type(schema)!r}")


def clear_parse_cache() -> None:
    """Forget every cached parse (for benchmarks and tests)."""
    _parse_text.cache_clear()


def _parse_file(path: Path) -> Schema:
    try:
        original = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SchemaParseError(f"cannot read the file: {error}", source=path) from None
    try:
        schema = _parse_text(original)
    except SchemaParseError as error:
        line = error.line
        if line is None and error.pointer is not None:
            line = line_of(original, error.pointer)
        raise error.located(source=path, line=line) from None
    return schema.with_source(path, original)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_text(original: str) -> Schema:
    stripped = original.strip()
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as error:
        if not _BARE_NAME.match(stripped):
            raise SchemaParseError(
                f"not valid JSON: {error.msg}", line=error.lineno, column=error.colno
            ) from None
        value = stripped  # a bare type name such as `string`
    if value is None and stripped == "null":
        value = "null"  # the bare type name `null`, which JSON reads as its null literal
    return _parse_value(value, original)


def _parse_value(value: Any, original: str) -> Schema:
    problem = find_problem(value)
    if problem is not None:
        pointer, message = problem
        raise SchemaParseError(message, pointer=pointer)
    named: dict[str, Any] = {}
    try:
        parsed = fastavro.schema.parse_schema(value, named_schemas=named)
    except UnknownType as error:
        raise SchemaParseError(f"unknown type {error.name!r}") from None
    except (SchemaParseException, KeyError, TypeError, ValueError) as error:
        raise SchemaParseError(str(error) or type(error).__name__) from None
    root = build_graph(parsed, named)
    return Schema(
        value=value, original=original, source=None, root=root, parsed=parsed, named=named
    )
