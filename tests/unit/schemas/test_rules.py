"""Each Avro schema-resolution rule, both ways, with Avro Java's finding type and location."""

from __future__ import annotations

from typing import Any

import pytest

from eventyard.schemas import IncompatibilityType, check_reader_writer

T = IncompatibilityType


def record(name: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "fields": list(fields), **extra}


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(name: str, *symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": name, "symbols": list(symbols), **extra}


def fixed(name: str, size: int, **extra: Any) -> dict[str, Any]:
    return {"type": "fixed", "name": name, "size": size, **extra}


LINKED = record("Node", field("value", "int"), field("next", ["null", "Node"], default=None))
LINKED_LONG = record("Node", field("value", "long"), field("next", ["null", "Node"], default=None))

# (id, reader, writer, expected findings as (type, location); empty = compatible)
CASES: list[tuple[str, Any, Any, set[tuple[T, str]]]] = [
    # primitives and promotions
    ("same primitive", "string", "string", set()),
    ("int read as long", "long", "int", set()),
    ("long read as int", "int", "long", {(T.TYPE_MISMATCH, "/")}),
    ("int read as float", "float", "int", set()),
    ("long read as float", "float", "long", set()),
    ("float read as long", "long", "float", {(T.TYPE_MISMATCH, "/")}),
    ("float read as double", "double", "float", set()),
    ("double read as float", "float", "double", {(T.TYPE_MISMATCH, "/")}),
    ("int read as double", "double", "int", set()),
    ("string read as bytes", "bytes", "string", set()),
    ("bytes read as string", "string", "bytes", set()),
    ("boolean read as int", "int", "boolean", {(T.TYPE_MISMATCH, "/")}),
    ("null read as string", "string", "null", {(T.TYPE_MISMATCH, "/")}),
    ("logical type ignored", {"type": "long", "logicalType": "timestamp-millis"}, "long", set()),
    (
        "logical type ignored, reversed",
        "long",
        {"type": "long", "logicalType": "time-micros"},
        set(),
    ),
    # records: fields, defaults, aliases, names
    (
        "added field with default",
        record("R", field("a", "int"), field("b", "int", default=0)),
        record("R", field("a", "int")),
        set(),
    ),
    (
        "added field without default",
        record("R", field("a", "int"), field("b", "int")),
        record("R", field("a", "int")),
        {(T.READER_FIELD_MISSING_DEFAULT_VALUE, "/fields/1")},
    ),
    (
        "removed field",
        record("R", field("a", "int")),
        record("R", field("a", "int"), field("b", "int")),
        set(),
    ),
    (
        "null default counts",
        record("R", field("a", ["null", "int"], default=None)),
        record("R"),
        set(),
    ),
    ("field type promoted", record("R", field("a", "long")), record("R", field("a", "int")), set()),
    (
        "field type narrowed",
        record("R", field("a", "int")),
        record("R", field("a", "long")),
        {(T.TYPE_MISMATCH, "/fields/0/type")},
    ),
    (
        "field renamed with alias",
        record("R", field("b", "int", aliases=["a"])),
        record("R", field("a", "int")),
        set(),
    ),
    (
        "field renamed without alias",
        record("R", field("b", "int")),
        record("R", field("a", "int")),
        {(T.READER_FIELD_MISSING_DEFAULT_VALUE, "/fields/0")},
    ),
    (
        "writer alias does not count",
        record("R", field("b", "int")),
        record("R", field("a", "int", aliases=["b"])),
        {(T.READER_FIELD_MISSING_DEFAULT_VALUE, "/fields/0")},
    ),
    (
        "alias matching two writer fields",
        record("R", field("a", "int", aliases=["b"])),
        record("R", field("a", "int"), field("b", "int")),
        {(T.AMBIGUOUS_FIELD_ALIAS, "/")},
    ),
    (
        "record names compare without namespace",
        record("R", namespace="one"),
        record("R", namespace="two"),
        set(),
    ),
    ("record renamed", record("S"), record("R"), {(T.NAME_MISMATCH, "/name")}),
    ("record renamed with alias", record("S", aliases=["R"]), record("R"), set()),
    (
        "alias is qualified by the reader's namespace",
        record("S", namespace="ns", aliases=["R"]),
        record("R", namespace="ns"),
        set(),
    ),
    (
        "alias qualified elsewhere does not match",
        record("S", namespace="ns", aliases=["R"]),
        record("R", namespace="other"),
        {(T.NAME_MISMATCH, "/name")},
    ),
    (
        "nested record field",
        record("R", field("n", record("N", field("x", "int")))),
        record("R", field("n", record("N", field("x", "string")))),
        {(T.TYPE_MISMATCH, "/fields/0/type/fields/0/type")},
    ),
    (
        "enum field without default but with enum default",
        record("R", field("e", enum("E", "A", default="A"))),
        record("R"),
        {(T.READER_FIELD_MISSING_DEFAULT_VALUE, "/fields/0")},
    ),
    # enums
    ("enum symbol added", enum("E", "A", "B", "C"), enum("E", "A", "B"), set()),
    (
        "enum symbol removed",
        enum("E", "A"),
        enum("E", "A", "B", "C"),
        {(T.MISSING_ENUM_SYMBOLS, "/symbols")},
    ),
    (
        "enum symbol removed, reader default",
        enum("E", "A", "Z", default="Z"),
        enum("E", "A", "B"),
        set(),
    ),
    ("enum renamed", enum("F", "A"), enum("E", "A"), {(T.NAME_MISMATCH, "/name")}),
    ("enum renamed with alias", enum("F", "A", aliases=["E"]), enum("E", "A"), set()),
    # fixed
    ("fixed same", fixed("F", 4), fixed("F", 4), set()),
    ("fixed size", fixed("F", 8), fixed("F", 4), {(T.FIXED_SIZE_MISMATCH, "/size")}),
    ("fixed renamed", fixed("G", 4), fixed("F", 4), {(T.NAME_MISMATCH, "/name")}),
    (
        "fixed name and size",
        fixed("G", 2),
        fixed("F", 4),
        {(T.NAME_MISMATCH, "/name"), (T.FIXED_SIZE_MISMATCH, "/size")},
    ),
    (
        "decimal fixed vs bytes",
        {"type": "bytes", "logicalType": "decimal", "precision": 4},
        fixed("F", 4, logicalType="decimal", precision=4),
        {(T.TYPE_MISMATCH, "/")},
    ),
    # arrays and maps
    (
        "array items promoted",
        {"type": "array", "items": "long"},
        {"type": "array", "items": "int"},
        set(),
    ),
    (
        "array items narrowed",
        {"type": "array", "items": "int"},
        {"type": "array", "items": "long"},
        {(T.TYPE_MISMATCH, "/items")},
    ),
    (
        "map values promoted",
        {"type": "map", "values": "double"},
        {"type": "map", "values": "float"},
        set(),
    ),
    (
        "map values narrowed",
        {"type": "map", "values": "int"},
        {"type": "map", "values": "long"},
        {(T.TYPE_MISMATCH, "/values")},
    ),
    (
        "array read as map",
        {"type": "map", "values": "int"},
        {"type": "array", "items": "int"},
        {(T.TYPE_MISMATCH, "/")},
    ),
    # unions, all four shapes
    ("writer union subset", ["null", "int", "string"], ["null", "int"], set()),
    (
        "writer union superset",
        ["null", "int"],
        ["null", "int", "string"],
        {(T.MISSING_UNION_BRANCH, "/2")},
    ),
    ("union branches by promotion", ["null", "long"], ["null", "int"], set()),
    ("reader union holds writer", ["null", "int"], "int", set()),
    ("reader union lacks writer", ["null", "string"], "int", {(T.MISSING_UNION_BRANCH, "/")}),
    ("writer union into plain reader", "long", ["int", "long"], set()),
    ("writer union into narrower reader", "int", ["int", "long"], {(T.TYPE_MISMATCH, "/1")}),
    (
        "optional field made required",
        record("R", field("a", "int")),
        record("R", field("a", ["null", "int"], default=None)),
        {(T.TYPE_MISMATCH, "/fields/0/type/0")},
    ),
    (
        "required field made optional",
        record("R", field("a", ["null", "int"], default=None)),
        record("R", field("a", "int")),
        set(),
    ),
    (
        "union record branch matched by name",
        ["null", record("A", field("x", "int"))],
        record("A", field("x", "int")),
        set(),
    ),
    (
        "union record branch with other name",
        ["null", record("B", field("x", "int"))],
        record("A", field("x", "int")),
        {(T.MISSING_UNION_BRANCH, "/")},
    ),
    # recursive named types
    ("recursive same", LINKED, LINKED, set()),
    ("recursive promoted", LINKED_LONG, LINKED, set()),
    ("recursive narrowed", LINKED, LINKED_LONG, {(T.TYPE_MISMATCH, "/fields/0/type")}),
    (
        "named type reused by reference",
        record("R", field("a", record("P", field("x", "int"))), field("b", "P")),
        record("R", field("a", record("P", field("x", "int"))), field("b", "P")),
        set(),
    ),
    (
        "reference narrowed twice",
        record("R", field("a", record("P", field("x", "int"))), field("b", "P")),
        record("R", field("a", record("P", field("x", "long"))), field("b", "P")),
        {
            (T.TYPE_MISMATCH, "/fields/0/type/fields/0/type"),
            (T.TYPE_MISMATCH, "/fields/1/type/fields/0/type"),
        },
    ),
]


@pytest.mark.parametrize(
    ("reader", "writer", "expected"),
    [pytest.param(r, w, e, id=name) for name, r, w, e in CASES],
)
def test_reader_writer_rule(reader: Any, writer: Any, expected: set[tuple[T, str]]) -> None:
    result = check_reader_writer(reader, writer)
    assert {(m.type, m.location) for m in result.messages} == expected
    assert result.compatible is (not expected)


def test_messages_name_the_field_and_types() -> None:
    result = check_reader_writer(
        record("R", field("order", record("O", field("amount", "int")))),
        record("R", field("order", record("O", field("amount", "long")))),
    )
    (finding,) = result.messages
    assert "field 'order.amount'" in finding.message.lower()
    assert "is int in the reader but long in the writer" in finding.message
    assert finding.version is None
    assert finding.direction is None


def test_missing_default_message_is_a_sentence() -> None:
    result = check_reader_writer(record("R", field("email", "string")), record("R"))
    (finding,) = result.messages
    assert finding.message.startswith("The reader has field 'email'")
    assert finding.message.endswith(".")


def test_enum_message_lists_missing_symbols() -> None:
    result = check_reader_writer(enum("Suit", "HEARTS"), enum("Suit", "HEARTS", "CLUBS", "SPADES"))
    (finding,) = result.messages
    assert "CLUBS, SPADES" in finding.message


def test_results_are_the_same_cold_and_cached(cold_caches: None) -> None:
    reader = record("R", field("a", "int"), field("n", LINKED))
    writer = record("R", field("a", "long"), field("n", LINKED_LONG))
    first = check_reader_writer(reader, writer)
    second = check_reader_writer(reader, writer)
    assert first == second
    assert not first.compatible
