"""The registry's pure core: canonical text, references, versions, levels, messages, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import eventyard_schema_registry
from eventyard.schemas import CompatibilityLevel, parse_schema
from eventyard_schema_registry.domain import errors
from eventyard_schema_registry.domain.canonical import canonical_text, fingerprint
from eventyard_schema_registry.domain.compatibility import Checked, compatibility_messages
from eventyard_schema_registry.domain.model import (
    LATEST,
    Mode,
    SchemaReference,
    parse_level,
    parse_mode,
    parse_version,
)
from eventyard_schema_registry.domain.references import expand, named_types
from eventyard_schema_registry.entrypoints.views import page

RECORD: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "com.acme",
    "doc": "an order",
    "fields": [
        {"name": "id", "type": {"type": "string"}, "doc": "key"},
        {"name": "lines", "type": {"type": "array", "items": "long"}, "default": []},
    ],
}


def reordered(value: Any, order: list[int]) -> Any:
    """``value`` with every object's keys in another order (driven by ``order``)."""
    if isinstance(value, list):
        return [reordered(item, order) for item in value]
    if not isinstance(value, dict):
        return value
    keys = list(value)
    shift = order[len(keys) % len(order)] % len(keys) if keys else 0
    keys = keys[shift:] + keys[:shift]
    return {key: reordered(value[key], order) for key in reversed(keys)}


@given(st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=5))
def test_canonical_text_ignores_key_order_and_layout(order: list[int]) -> None:
    shuffled = json.loads(json.dumps(reordered(RECORD, order), indent=3))
    assert canonical_text(shuffled) == canonical_text(RECORD)


def test_canonical_text_reads_like_avro_and_keeps_every_attribute() -> None:
    text = canonical_text(RECORD)
    assert text.startswith('{"type":"record","name":"Order","namespace":"com.acme","doc":')
    assert '{"name":"id","type":"string","doc":"key"}' in text
    assert '"default":[]' in text
    without_default = {**RECORD, "fields": [RECORD["fields"][0], {"name": "lines", "type": "int"}]}
    assert canonical_text(without_default) != text


def test_fingerprints_differ_by_type_text_and_references() -> None:
    text = canonical_text(RECORD)
    reference = SchemaReference(name="com.acme.Address", subject="address-value", version=1)
    assert fingerprint("AVRO", text) == fingerprint("AVRO", text)
    assert fingerprint("AVRO", text) != fingerprint("JSON", text)
    assert fingerprint("AVRO", text) != fingerprint("AVRO", text, [reference])


ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "com.acme",
    "fields": [{"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A"]}}],
}
PLAIN = {"type": "record", "name": "Plain", "fields": []}


def test_expand_inlines_each_referenced_type_once_at_its_first_use() -> None:
    customer = {
        "type": "record",
        "name": "Customer",
        "namespace": "com.shop",
        "fields": [
            {"name": "kind", "type": "com.acme.Kind"},
            {"name": "home", "type": "com.acme.Address"},
            {"name": "work", "type": ["null", "com.acme.Address"]},
            {"name": "plain", "type": "Plain"},
        ],
    }
    expanded = expand(customer, [ADDRESS, PLAIN])
    fields = expanded["fields"]
    assert fields[0]["type"]["name"] == "Kind"  # the nested enum, written where first used
    assert fields[1]["type"]["fields"][0]["type"] == "com.acme.Kind"  # then only named
    assert fields[2]["type"] == ["null", "com.acme.Address"]
    assert fields[3]["type"]["namespace"] == ""  # keeps its null namespace inside com.shop
    assert parse_schema(expanded).name == "com.shop.Customer"


def test_expand_leaves_a_schema_without_references_alone() -> None:
    assert expand(RECORD, []) is RECORD


def test_named_types_are_found_with_their_full_names() -> None:
    assert set(named_types(ADDRESS)) == {"com.acme.Address", "com.acme.Kind"}


@pytest.mark.parametrize(("text", "number"), [("latest", LATEST), ("-1", LATEST), ("7", 7)])
def test_versions_parse(text: str, number: int) -> None:
    assert parse_version(text) == number


@pytest.mark.parametrize("text", ["0", "-2", "x", "2147483648", "1.5"])
def test_invalid_versions_are_42202(text: str) -> None:
    with pytest.raises(errors.InvalidVersion):
        parse_version(text)


def test_levels_and_modes_parse_in_any_case() -> None:
    assert parse_level("full_transitive") is CompatibilityLevel.FULL_TRANSITIVE
    assert parse_mode("readonly") is Mode.READONLY
    with pytest.raises(errors.InvalidCompatibilityLevel):
        parse_level("SIDEWAYS")
    with pytest.raises(errors.InvalidCompatibilityLevel):
        parse_level(None)
    with pytest.raises(errors.InvalidMode):
        parse_mode("FORWARD")


def test_messages_name_the_subjects_own_version_numbers() -> None:
    old = parse_schema({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
    new = parse_schema({"type": "record", "name": "R", "fields": [{"name": "a", "type": "string"}]})
    previous = [Checked(version=4, schema=old, text=old.text)]
    messages = compatibility_messages(new, previous, CompatibilityLevel.BACKWARD)
    assert messages[0].startswith("{errorType:'TYPE_MISMATCH'")
    assert "version 4" in messages[0]
    assert "version 1" not in messages[0]
    assert messages[1:] == [
        "{oldSchemaVersion: 4}",
        f"{{oldSchema: '{old.text}'}}",
        "{validateFields: 'false', compatibility: 'BACKWARD'}",
    ]
    assert compatibility_messages(old, previous, CompatibilityLevel.BACKWARD) == []


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.SubjectNotFound("s"), 404, 40401),
        (errors.VersionNotFound(2), 404, 40402),
        (errors.SchemaNotFound(3), 404, 40403),
        (errors.SubjectSoftDeleted("s"), 404, 40404),
        (errors.SubjectNotSoftDeleted("s"), 404, 40405),
        (errors.VersionSoftDeleted("s", 1), 404, 40406),
        (errors.VersionNotSoftDeleted("s", 1), 404, 40407),
        (errors.IncompatibleSchema("s", ["x"]), 409, 409),
        (errors.InvalidSchema("bad"), 422, 42201),
        (errors.InvalidVersion("x"), 422, 42202),
        (errors.InvalidCompatibilityLevel(), 422, 42203),
        (errors.InvalidMode(), 422, 42204),
        (errors.OperationNotPermitted("no"), 422, 42205),
        (errors.ReferenceExists("s", 1), 422, 42206),
        (errors.StoreError("down"), 500, 50001),
    ],
)
def test_errors_carry_confluents_status_and_code(
    error: errors.RegistryError, status: int, code: int
) -> None:
    assert (error.status, error.error_code) == (status, code)
    assert error.body() == {"error_code": code, "message": error.message}


def test_paging_skips_then_limits() -> None:
    assert page([1, 2, 3, 4], 1, 2) == [2, 3]
    assert page([1, 2, 3], 0, -1) == [1, 2, 3]


def test_the_public_surface() -> None:
    assert eventyard_schema_registry.__all__ == ["Registry", "Settings", "bootstrap", "create_app"]
