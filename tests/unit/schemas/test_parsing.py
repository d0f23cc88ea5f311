"""parse_schema: fastavro does the parsing; errors name what is wrong, where, and the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eventyard.schemas import SchemaParseError, SchemasError, parse_schema


def test_accepts_text_dict_list_path_and_bare_names(tmp_path: Path) -> None:
    record = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]}
    path = tmp_path / "r.avsc"
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    assert parse_schema(json.dumps(record)) == parse_schema(record) == parse_schema(path)
    assert parse_schema(path).source == path
    assert parse_schema(["null", "int"]).name == "union [null, int]"
    assert parse_schema("string").name == "string"
    assert parse_schema('"null"').name == parse_schema("null").name == "null"
    assert parse_schema(record).name == "R"


def test_same_text_is_parsed_once() -> None:
    text = '{"type": "enum", "name": "E", "symbols": ["A"]}'
    assert parse_schema(text) is parse_schema(text)


@pytest.mark.parametrize(
    ("schema", "pointer", "words"),
    [
        ({"type": "record", "fields": []}, "/name", "name"),
        ({"type": "record", "name": "R"}, "/", '"fields"'),
        ({"type": "array"}, "/", '"items"'),
        ({"type": "map"}, "/", '"values"'),
        ({"type": "fixed", "name": "F", "size": -1}, "/size", "non-negative"),
        ({"type": "enum", "name": "E"}, "/symbols", "symbols"),
        ({"type": "record", "name": "a-b", "fields": []}, "/name", "not a valid Avro name"),
        (
            {"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}] * 2},
            "/fields/1/name",
            "duplicate field",
        ),
        (["int", "int"], "/1", "duplicate"),
        (["int", ["null", "string"]], "/1", "may not directly contain another union"),
        ({"type": "record", "name": "R", "fields": [{"name": "a"}]}, "/fields/0", '"type"'),
    ],
)
def test_structural_errors_name_the_pointer(schema: object, pointer: str, words: str) -> None:
    with pytest.raises(SchemaParseError) as caught:
        parse_schema(schema)  # type: ignore[arg-type]
    assert caught.value.pointer == pointer
    assert words in caught.value.problem


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ({"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]}, "Nope"),
        ({"type": "enum", "name": "E", "symbols": ["A"], "default": "B"}, "enum"),
        (
            {
                "type": "record",
                "name": "R",
                "fields": [{"name": "a", "type": "int", "default": "x"}],
            },
            "Default value",
        ),
        ("nosuchtype", "nosuchtype"),
    ],
)
def test_fastavro_errors_become_schema_parse_errors(schema: object, words: str) -> None:
    with pytest.raises(SchemaParseError, match=words):
        parse_schema(schema)  # type: ignore[arg-type]


def test_json_syntax_error_in_a_file_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.avsc"
    path.write_text('{\n  "type": "record",\n  "name": "R"\n  "fields": []\n}\n', encoding="utf-8")
    with pytest.raises(SchemaParseError) as caught:
        parse_schema(path)
    error = caught.value
    assert error.source == path
    assert error.line == 4
    assert str(error).startswith(f"{path}:4:3: invalid Avro schema: not valid JSON")
    assert isinstance(error, SchemasError)


def test_structural_error_in_a_file_gives_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.avsc"
    path.write_text(
        '{\n  "type": "record",\n  "name": "R",\n  "fields": [\n'
        '    {"name": "a", "type": {"type": "array"}}\n  ]\n}\n',
        encoding="utf-8",
    )
    with pytest.raises(SchemaParseError) as caught:
        parse_schema(path)
    assert caught.value.line == 5
    assert caught.value.pointer == "/fields/0/type"


def test_missing_file_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaParseError, match="cannot read"):
        parse_schema(tmp_path / "absent.avsc")
