"""Schema references: named types taken from other subjects' versions, as Confluent's Avro."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventyard_schema_registry import Registry
from eventyard_schema_registry.domain.errors import (
    IncompatibleSchema,
    InvalidSchema,
    ReferenceExists,
)
from eventyard_schema_registry.domain.model import LATEST, RegisterRequest, SchemaReference

ADDRESS: dict[str, Any] = {
    "type": "record",
    "name": "Address",
    "namespace": "com.acme",
    "fields": [
        {"name": "street", "type": "string"},
        {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["HOME", "WORK"]}},
    ],
}


def customer(*extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "record",
        "name": "Customer",
        "namespace": "com.shop",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "home", "type": "com.acme.Address"},
            {"name": "work", "type": ["null", "com.acme.Address"], "default": None},
            {"name": "preferred", "type": "com.acme.Kind"},
            *extra,
        ],
    }


def address(subject: str, version: int = 1) -> SchemaReference:
    return SchemaReference(name="com.acme.Address", subject=subject, version=version)


def with_refs(value: dict[str, Any], *references: SchemaReference) -> RegisterRequest:
    return RegisterRequest(schema=json.dumps(value), references=references)


@pytest.fixture
def addresses(registry: Registry) -> str:
    registry.register("addresses-value", RegisterRequest(schema=json.dumps(ADDRESS)))
    return "addresses-value"


def test_a_schema_with_references_registers_and_reads_back(
    registry: Registry, addresses: str
) -> None:
    added = registry.register("customers-value", with_refs(customer(), address(addresses)))
    assert added.schema.references == (address(addresses),)
    assert registry.schema(added.schema.id).references == (address(addresses),)
    assert registry.version("customers-value", "latest") == added
    assert registry.referenced_by(addresses, "1") == [added.schema.id]
    found = registry.lookup("customers-value", with_refs(customer(), address(addresses)))
    assert found == added


def test_latest_is_pinned_to_the_version_it_means(registry: Registry, addresses: str) -> None:
    added = registry.register("customers-value", with_refs(customer(), address(addresses, LATEST)))
    assert added.schema.references == (address(addresses, 1),)


def test_the_same_text_with_other_references_is_another_schema(
    registry: Registry, addresses: str
) -> None:
    registry.register("others-value", RegisterRequest(schema=json.dumps(ADDRESS)))
    one = registry.register("customers-value", with_refs(customer(), address(addresses)))
    other = registry.register("vips-value", with_refs(customer(), address("others-value")))
    assert one.schema.id != other.schema.id


def test_unresolved_names_are_invalid(registry: Registry, addresses: str) -> None:
    with pytest.raises(InvalidSchema, match=r"com\.acme\.Address"):
        registry.register("customers-value", with_refs(customer()))
    with pytest.raises(InvalidSchema, match="no schema reference found"):
        registry.register("customers-value", with_refs(customer(), address("nowhere-value")))
    with pytest.raises(InvalidSchema, match="no schema reference found"):
        registry.register("customers-value", with_refs(customer(), address(addresses, 2)))


def test_referenced_versions_cannot_be_deleted_until_their_referrers_are_gone(
    registry: Registry, addresses: str
) -> None:
    deletions = registry.deletions
    referrer = registry.register("customers-value", with_refs(customer(), address(addresses)))
    for delete in (
        lambda: deletions.delete_subject(addresses),
        lambda: deletions.delete_version(addresses, "1"),
    ):
        with pytest.raises(ReferenceExists):
            delete()
    deletions.delete_subject("customers-value")
    # Soft-deleted referrers still count, but only when asked for.
    assert registry.referenced_by(addresses, "1") == []
    assert registry.referenced_by(addresses, "1", deleted=True) == [referrer.schema.id]
    assert deletions.delete_version(addresses, "1") == 1  # a soft delete is allowed now
    with pytest.raises(ReferenceExists):
        deletions.delete_version(addresses, "1", permanent=True)
    deletions.delete_subject("customers-value", permanent=True)
    assert deletions.delete_version(addresses, "1", permanent=True) == 1


def test_evolution_of_a_referencing_schema_is_checked(registry: Registry, addresses: str) -> None:
    registry.register("customers-value", with_refs(customer(), address(addresses)))
    optional = {"name": "vip", "type": "boolean", "default": False}
    evolved = registry.register(
        "customers-value", with_refs(customer(optional), address(addresses))
    )
    assert evolved.version == 2
    required = {"name": "tier", "type": "int"}
    with pytest.raises(IncompatibleSchema):
        registry.register(
            "customers-value", with_refs(customer(optional, required), address(addresses))
        )
