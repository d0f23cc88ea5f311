"""Registering, finding and reading schemas: the service layer on the in-memory store."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventyard_schema_registry import Registry
from eventyard_schema_registry.domain.errors import (
    InvalidSchema,
    InvalidVersion,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)
from eventyard_schema_registry.domain.model import RegisterRequest

ORDER: dict[str, Any] = {
    "type": "record",
    "name": "Order",
    "namespace": "com.acme",
    "fields": [{"name": "id", "type": "string"}, {"name": "total", "type": "long"}],
}
WITH_NOTE: dict[str, Any] = {
    **ORDER,
    "fields": [*ORDER["fields"], {"name": "note", "type": "string", "default": ""}],
}


def avro(value: Any, *, indent: int | None = None, **extra: Any) -> RegisterRequest:
    return RegisterRequest(schema=json.dumps(value, indent=indent), **extra)


def test_the_first_schema_gets_id_one_and_version_one(registry: Registry) -> None:
    added = registry.register("orders-value", avro(ORDER))
    assert (added.subject, added.version, added.deleted, added.schema.id) == (
        "orders-value",
        1,
        False,
        1,
    )
    assert added.schema.schema == json.dumps(ORDER, separators=(",", ":"))


def test_registering_again_in_another_layout_is_the_same_version(registry: Registry) -> None:
    first = registry.register("orders-value", avro(ORDER))
    again = registry.register("orders-value", avro(ORDER, indent=4))
    assert again == first
    assert registry.versions("orders-value") == [1]


def test_one_schema_in_two_subjects_has_one_id(registry: Registry) -> None:
    orders = registry.register("orders-value", avro(ORDER))
    archive = registry.register("archive-value", avro(ORDER))
    assert archive.schema.id == orders.schema.id
    assert archive.version == 1
    usages = registry.usages(orders.schema.id)
    assert [(u.subject, u.version) for u in usages] == [("archive-value", 1), ("orders-value", 1)]


def test_a_changed_default_is_another_schema(registry: Registry) -> None:
    without = {**ORDER, "fields": [{"name": "id", "type": "string"}]}
    with_default = {**ORDER, "fields": [{"name": "id", "type": "string", "default": "?"}]}
    first = registry.register("a-value", avro(without))
    assert registry.register("b-value", avro(with_default)).schema.id != first.schema.id


def test_versions_are_numbered_and_latest_is_the_last(registry: Registry) -> None:
    first = registry.register("orders-value", avro(ORDER))
    second = registry.register("orders-value", avro(WITH_NOTE))
    assert (second.version, second.schema.id) == (2, 2)
    assert registry.versions("orders-value") == [1, 2]
    assert registry.version("orders-value", "latest") == second
    assert registry.version("orders-value", "1") == first
    assert registry.version("orders-value", "-1") == second


def test_missing_and_invalid_versions(registry: Registry) -> None:
    registry.register("orders-value", avro(ORDER))
    with pytest.raises(VersionNotFound):
        registry.version("orders-value", "2")
    with pytest.raises(SubjectNotFound):
        registry.version("nobody-value", "1")
    with pytest.raises(SubjectNotFound):
        registry.versions("nobody-value")
    for invalid in ("0", "x", str(2**31)):
        with pytest.raises(InvalidVersion):
            registry.version("orders-value", invalid)


def test_schemas_by_id_and_their_usages(registry: Registry) -> None:
    added = registry.register("orders-value", avro(ORDER))
    assert registry.schema(added.schema.id) == added.schema
    with pytest.raises(SchemaNotFound):
        registry.schema(99)
    with pytest.raises(SchemaNotFound):
        registry.usages(99)


def test_subjects_are_sorted_and_filtered_by_prefix(registry: Registry) -> None:
    for subject in ("orders-value", "archive-value", "orders-key"):
        registry.register(subject, avro(ORDER))
    assert registry.subjects() == ["archive-value", "orders-key", "orders-value"]
    assert registry.subjects(prefix="orders-") == ["orders-key", "orders-value"]


def test_lookup_finds_the_version_holding_a_schema(registry: Registry) -> None:
    first = registry.register("orders-value", avro(ORDER))
    registry.register("orders-value", avro(WITH_NOTE))
    assert registry.lookup("orders-value", avro(ORDER, indent=2)) == first


def test_lookup_tells_an_unknown_schema_from_an_unknown_subject(registry: Registry) -> None:
    registry.register("orders-value", avro(ORDER))
    with pytest.raises(SchemaNotFound):
        registry.lookup("orders-value", avro(WITH_NOTE))
    with pytest.raises(SubjectNotFound):
        registry.lookup("nobody-value", avro(ORDER))


def test_a_primitive_schema_registers(registry: Registry) -> None:
    added = registry.register("keys", RegisterRequest(schema='"string"'))
    assert registry.schema(added.schema.id).schema == '"string"'


@pytest.mark.parametrize(
    ("request_", "why"),
    [
        (RegisterRequest(schema='{"type": "record", '), "not valid JSON"),
        (RegisterRequest(schema="  "), "Empty schema"),
        (RegisterRequest(schema='{"type": "enum", "name": "E", "symbols": ["A", "A"]}'), "A"),
        (RegisterRequest(schema='syntax = "proto3";', schema_type="PROTOBUF"), "PROTOBUF"),
        (avro({**ORDER, "fields": [{"name": "id", "type": "Nope"}]}), "Nope"),
    ],
)
def test_unusable_schemas_are_invalid_and_name_the_problem(
    registry: Registry, request_: RegisterRequest, why: str
) -> None:
    with pytest.raises(InvalidSchema, match=why):
        registry.register("bad-value", request_)
    assert registry.subjects(deleted=True) == []


def test_a_version_in_the_request_must_be_the_next_one(registry: Registry) -> None:
    registry.register("orders-value", avro(ORDER, version=1))
    with pytest.raises(InvalidSchema, match="one more than previous"):
        registry.register("orders-value", avro(WITH_NOTE, version=5))
    assert registry.register("orders-value", avro(WITH_NOTE, version=2)).version == 2
