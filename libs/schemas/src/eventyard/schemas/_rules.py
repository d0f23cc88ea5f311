"""Avro schema resolution as a pure rule engine, deciding as Avro Java's SchemaCompatibility.

``check_pair(reader, writer)`` returns the raw issues found: ``(type, path, detail)`` where
``path`` is the tuple of JSON-pointer tokens below the pair's root. The rules:

* same primitive: compatible; promotions int->long->float->double and string<->bytes.
* record: names match (unqualified, or a reader alias equals the writer's full name); each
  reader field is found in the writer by name or by one of its aliases and its type checked,
  or else must have a default. A field matching several writer fields is an error (Java throws).
* enum: names match; writer symbols all in the reader, unless the reader has an enum default.
* fixed: names and sizes match. array/map: items/values checked.
* unions: a writer union needs every branch readable; a reader union needs one branch that
  reads the writer. Recursion is broken by assuming an in-progress pair compatible.

Pair results of acyclic, shared nodes are cached across checks (they cannot depend on an
in-progress assumption); pairs involving recursive types use a per-check memo, as Java does.
"""

from __future__ import annotations

from typing import Final, TypeAlias

from eventyard.schemas._nodes import (
    ArrayNode,
    EnumNode,
    FieldNode,
    FixedNode,
    MapNode,
    NamedNode,
    Node,
    RecordNode,
    UnionNode,
)
from eventyard.schemas._results import IncompatibilityType

__all__ = [
    "AmbiguousFieldError",
    "RawIssue",
    "check_pair",
    "clear_pair_cache",
    "lookup_writer_field",
]

RawIssue: TypeAlias = tuple[IncompatibilityType, tuple[str, ...], str]
Issues: TypeAlias = tuple[RawIssue, ...]

_TYPE_MISMATCH: Final = IncompatibilityType.TYPE_MISMATCH
_MISSING_UNION_BRANCH: Final = IncompatibilityType.MISSING_UNION_BRANCH
_PRIMITIVE_KINDS: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)
#: (reader kind, writer kind) pairs the spec allows across kinds.
_PROMOTIONS: Final = frozenset(
    {
        ("long", "int"),
        ("float", "int"),
        ("float", "long"),
        ("double", "int"),
        ("double", "long"),
        ("double", "float"),
        ("bytes", "string"),
        ("string", "bytes"),
    }
)
_PAIR_CACHE_LIMIT: Final = 500_000
_pair_cache: dict[tuple[Node, Node], Issues] = {}
_IN_PROGRESS: Final[Issues] = ((IncompatibilityType.CHECKER_EXCEPTION, (), "in progress"),)


class AmbiguousFieldError(Exception):
    """A reader field matches more than one writer field (Avro Java throws here too)."""

    def __init__(self, record: RecordNode, field: FieldNode, matches: list[str]) -> None:
        self.record = record
        self.field = field
        self.matches = matches
        super().__init__(
            f"reader field {field.name!r} of record {record.fullname!r} matches several writer "
            f"fields: {', '.join(repr(m) for m in matches)}"
        )


def clear_pair_cache() -> None:
    """Forget every cached pair result."""
    _pair_cache.clear()


def lookup_writer_field(writer: RecordNode, field: FieldNode) -> FieldNode | None:
    """The writer field ``field`` reads: by name or alias; raises if several match."""
    direct = writer.by_name.get(field.name)
    if not field.aliases:
        return direct
    matches = [] if direct is None else [direct]
    for alias in field.aliases:
        aliased = writer.by_name.get(alias)
        if aliased is not None:
            matches.append(aliased)
    if len(matches) > 1:
        raise AmbiguousFieldError(writer, field, [match.name for match in matches])
    return matches[0] if matches else None


def check_pair(reader: Node, writer: Node) -> Issues:
    """Everything that stops ``reader`` from reading data written with ``writer``."""
    return _Checker().check(reader, writer)


def _prefix(tokens: tuple[str, ...], issues: Issues) -> Issues:
    return tuple((kind, tokens + path, detail) for kind, path, detail in issues)


def _names_match(reader: NamedNode, writer: NamedNode) -> bool:
    return reader.name == writer.name or writer.fullname in reader.aliases


def _name_issue(reader: NamedNode, writer: NamedNode) -> Issues:
    if _names_match(reader, writer):
        return ()
    return ((IncompatibilityType.NAME_MISMATCH, ("name",), f"expected: {writer.fullname}"),)


class _Checker:
    __slots__ = ("_local",)

    def __init__(self) -> None:
        self._local: dict[tuple[Node, Node], Issues] = {}

    def check(self, reader: Node, writer: Node) -> Issues:
        if reader is writer and reader.self_safe:
            return ()
        key = (reader, writer)
        if reader.cacheable and writer.cacheable:
            cached = _pair_cache.get(key)
            if cached is None:
                cached = self._calculate(reader, writer)
                if len(_pair_cache) >= _PAIR_CACHE_LIMIT:
                    _pair_cache.clear()
                _pair_cache[key] = cached
            return cached
        local = self._local
        memo = local.get(key)
        if memo is not None:
            return () if memo is _IN_PROGRESS else memo
        local[key] = _IN_PROGRESS
        result = self._calculate(reader, writer)
        local[key] = result
        return result

    # Avro Java's calculateCompatibility, one branch per rule; kept flat to read like the spec.
    def _calculate(self, reader: Node, writer: Node) -> Issues:  # noqa: PLR0911, PLR0912
        kind = reader.kind
        if kind == writer.kind:
            if kind in _PRIMITIVE_KINDS:
                return ()
            if type(reader) is RecordNode and type(writer) is RecordNode:
                return _name_issue(reader, writer) + self._fields(reader, writer)
            if type(reader) is UnionNode and type(writer) is UnionNode:
                return self._union_union(reader, writer)
            if type(reader) is ArrayNode and type(writer) is ArrayNode:
                return _prefix(("items",), self.check(reader.items, writer.items))
            if type(reader) is MapNode and type(writer) is MapNode:
                return _prefix(("values",), self.check(reader.values, writer.values))
            if type(reader) is EnumNode and type(writer) is EnumNode:
                return _name_issue(reader, writer) + _enum_symbols(reader, writer)
            if type(reader) is FixedNode and type(writer) is FixedNode:
                return _name_issue(reader, writer) + _fixed_size(reader, writer)
            raise AssertionError(f"unknown schema kind {kind!r}")  # pragma: no cover
        if type(writer) is UnionNode:
            found: list[RawIssue] = []
            for index, branch in enumerate(writer.branches):
                found.extend(_prefix((str(index),), self.check(reader, branch)))
            return tuple(found)
        if type(reader) is UnionNode:
            for branch in reader.branches:
                if not self.check(branch, writer):
                    return ()
            return ((_MISSING_UNION_BRANCH, (), _lacking(writer)),)
        if (kind, writer.kind) in _PROMOTIONS:
            return ()
        detail = (
            f"reader type: {kind.upper()} not compatible with writer type: {writer.kind.upper()}"
        )
        return ((_TYPE_MISMATCH, (), detail),)

    def _union_union(self, reader: UnionNode, writer: UnionNode) -> Issues:
        found: list[RawIssue] = []
        for index, branch in enumerate(writer.branches):
            if self.check(reader, branch):
                found.append((_MISSING_UNION_BRANCH, (str(index),), _lacking(branch)))
        return tuple(found)

    def _fields(self, reader: RecordNode, writer: RecordNode) -> Issues:
        found: list[RawIssue] = []
        by_name = writer.by_name
        for field in reader.fields:
            match = lookup_writer_field(writer, field) if field.aliases else by_name.get(field.name)
            if match is None:
                if not field.has_default:
                    # Java also fails when the field is an enum with an enum default (it then
                    # compares that enum with the writer record); the verdict is the same.
                    found.append(
                        (
                            IncompatibilityType.READER_FIELD_MISSING_DEFAULT_VALUE,
                            ("fields", str(field.position)),
                            field.name,
                        )
                    )
                continue
            if field.type is match.type and field.type.self_safe:
                continue  # unchanged sub-schema, shared between versions
            issues = self.check(field.type, match.type)
            if issues:
                found.extend(_prefix(("fields", str(field.position), "type"), issues))
        return tuple(found)


def _lacking(writer: Node) -> str:
    return f"reader union lacking writer type: {writer.kind.upper()}"


def _enum_symbols(reader: EnumNode, writer: EnumNode) -> Issues:
    missing = writer.symbol_set - reader.symbol_set
    if not missing or (reader.default is not None and reader.default in reader.symbol_set):
        return ()
    listed = "[" + ", ".join(sorted(missing)) + "]"
    return ((IncompatibilityType.MISSING_ENUM_SYMBOLS, ("symbols",), listed),)


def _fixed_size(reader: FixedNode, writer: FixedNode) -> Issues:
    if reader.size == writer.size:
        return ()
    detail = f"expected: {writer.size}, found: {reader.size}"
    return ((IncompatibilityType.FIXED_SIZE_MISMATCH, ("size",), detail),)
