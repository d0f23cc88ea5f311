"""Schema references: named types taken from other subjects' versions, as Confluent's Avro."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import (
    Schema,
    SchemaReference,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

ADDRESS = {
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


def with_refs(value: dict[str, Any], addresses: str, version: int = 1) -> Schema:
    reference = SchemaReference("com.acme.Address", addresses, version)
    return Schema(json.dumps(value), "AVRO", [reference])


def test_a_schema_with_references_registers_and_reads_back(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    addresses, customers = subject("address"), subject("customer")
    address_id = client.register_schema(addresses, Schema(json.dumps(ADDRESS), "AVRO"))
    customer_id = client.register_schema(customers, with_refs(customer(), addresses))
    assert customer_id != address_id
    reference = {"name": "com.acme.Address", "subject": addresses, "version": 1}
    assert http.get(f"/subjects/{customers}/versions/1").json()["references"] == [reference]
    assert http.get(f"/schemas/ids/{customer_id}").json()["references"] == [reference]
    latest = client.get_latest_version(customers)
    assert latest.schema.references is not None
    assert [(r.name, r.subject, r.version) for r in latest.schema.references] == [
        ("com.acme.Address", addresses, 1)
    ]
    assert client.get_referenced_by(addresses, 1) == [customer_id]
    found = client.lookup_schema(customers, with_refs(customer(), addresses))
    assert (found.schema_id, found.version) == (customer_id, 1)


def test_the_same_text_with_other_references_is_another_schema(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    first, second, customers = subject("address"), subject("address"), subject("customer")
    client.register_schema(first, Schema(json.dumps(ADDRESS), "AVRO"))
    client.register_schema(second, Schema(json.dumps(ADDRESS), "AVRO"))
    one = client.register_schema(customers, with_refs(customer(), first))
    other = client.register_schema(subject("customer"), with_refs(customer(), second))
    assert one != other


def test_unresolved_names_are_invalid(
    http: httpx.Client, client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    customers = subject("customer")
    no_refs = http.post(f"/subjects/{customers}/versions", json={"schema": json.dumps(customer())})
    assert (no_refs.status_code, no_refs.json()["error_code"]) == (422, 42201)
    assert "com.acme.Address" in no_refs.json()["message"]
    with pytest.raises(SchemaRegistryError) as missing:
        client.register_schema(customers, with_refs(customer(), subject("nowhere")))
    assert missing.value.error_code == 42201
    assert "no schema reference found" in missing.value.error_message


def test_referenced_versions_cannot_be_deleted(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    addresses, customers = subject("address"), subject("customer")
    client.register_schema(addresses, Schema(json.dumps(ADDRESS), "AVRO"))
    client.register_schema(customers, with_refs(customer(), addresses))
    for path in (f"/subjects/{addresses}", f"/subjects/{addresses}/versions/1"):
        answer = http.delete(path)
        assert (answer.status_code, answer.json()["error_code"]) == (422, 42206)
    client.delete_subject(customers)
    client.delete_subject(customers, permanent=True)
    assert client.delete_subject(addresses) == [1]


def test_evolution_of_a_referencing_schema_is_checked(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    addresses, customers = subject("address"), subject("customer")
    client.register_schema(addresses, Schema(json.dumps(ADDRESS), "AVRO"))
    client.register_schema(customers, with_refs(customer(), addresses))
    optional = {"name": "vip", "type": "boolean", "default": False}
    assert client.register_schema(customers, with_refs(customer(optional), addresses)) > 0
    required = {"name": "tier", "type": "int"}
    with pytest.raises(SchemaRegistryError) as rejected:
        client.register_schema(customers, with_refs(customer(optional, required), addresses))
    assert rejected.value.error_code == 409


def test_avro_serde_resolves_references_from_the_registry(
    client: SchemaRegistryClient, own_registry_url: str, subject: Callable[[str], str]
) -> None:
    addresses = subject("address")
    client.register_schema(addresses, Schema(json.dumps(ADDRESS), "AVRO"))
    topic = subject("customers").removesuffix("-value")
    serializer = AvroSerializer(client, with_refs(customer(), addresses))
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": own_registry_url}))
    context = SerializationContext(topic, MessageField.VALUE)
    value = {
        "name": "Ada",
        "home": {"street": "1 Loop", "kind": "HOME"},
        "work": None,
        "preferred": "WORK",
    }
    assert deserializer(serializer(value, context), context) == value
    assert client.get_latest_version(f"{topic}-value").schema.references
