"""Registering, finding and reading schemas with confluent-kafka's own client."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "com.acme",
    "fields": [{"name": "id", "type": "string"}, {"name": "total", "type": "long"}],
}
ORDER_WITH_NOTE = {
    **ORDER,
    "fields": [*ORDER["fields"], {"name": "note", "type": "string", "default": ""}],
}


def avro(value: object, *, indent: int | None = None) -> Schema:
    return Schema(json.dumps(value, indent=indent), "AVRO")


def test_registering_twice_gives_the_same_id_and_one_version(
    client: SchemaRegistryClient, own_registry_url: str, subject: Callable[[str], str]
) -> None:
    orders = subject("orders")
    first = client.register_schema(orders, avro(ORDER))
    # A new client has no cache; the text differs only in layout.
    again = SchemaRegistryClient({"url": own_registry_url}).register_schema(
        orders, avro(ORDER, indent=4)
    )
    assert again == first
    assert client.get_versions(orders) == [1]


def test_the_same_schema_in_two_subjects_has_one_id(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    orders, archive = subject("orders"), subject("archive")
    schema_id = client.register_schema(orders, avro(ORDER))
    assert client.register_schema(archive, avro(ORDER)) == schema_id
    # The module's other tests may hold the same schema: look at this test's subjects only.
    assert {orders, archive} <= set(client.get_subjects_by_schema_id(schema_id))
    versions = {(v.subject, v.version) for v in client.get_schema_versions(schema_id)}
    assert {(orders, 1), (archive, 1)} <= versions


def test_a_schema_that_differs_only_by_a_default_gets_its_own_id(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    # Avro's Parsing Canonical Form drops defaults; the registry must not.
    with_default = {**ORDER, "fields": [{"name": "id", "type": "string", "default": "?"}]}
    without = {**ORDER, "fields": [{"name": "id", "type": "string"}]}
    first = client.register_schema(subject("a"), avro(with_default))
    assert client.register_schema(subject("b"), avro(without)) != first


def test_versions_are_numbered_and_latest_is_the_last(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    orders = subject("orders")
    first = client.register_schema(orders, avro(ORDER))
    second = client.register_schema(orders, avro(ORDER_WITH_NOTE))
    assert first != second
    latest = client.get_latest_version(orders)
    assert (latest.version, latest.schema_id, latest.subject) == (2, second, orders)
    assert json.loads(latest.schema.schema_str or "") == ORDER_WITH_NOTE
    assert client.get_version(orders, 1).schema_id == first
    assert client.get_versions(orders) == [1, 2]


def test_lookup_finds_the_version_holding_a_schema(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    orders = subject("orders")
    schema_id = client.register_schema(orders, avro(ORDER))
    client.register_schema(orders, avro(ORDER_WITH_NOTE))
    found = client.lookup_schema(orders, avro(ORDER, indent=2))
    assert (found.schema_id, found.version, found.subject) == (schema_id, 1, orders)


def test_lookup_tells_an_unknown_schema_from_an_unknown_subject(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    orders = subject("orders")
    client.register_schema(orders, avro(ORDER))
    with pytest.raises(SchemaRegistryError) as unknown_schema:
        client.lookup_schema(orders, avro(ORDER_WITH_NOTE))
    assert (unknown_schema.value.http_status_code, unknown_schema.value.error_code) == (404, 40403)
    with pytest.raises(SchemaRegistryError) as unknown_subject:
        client.lookup_schema(subject("nobody"), avro(ORDER))
    assert (unknown_subject.value.http_status_code, unknown_subject.value.error_code) == (
        404,
        40401,
    )


def test_schemas_by_id(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    schema_id = client.register_schema(subject("orders"), avro(ORDER))
    assert json.loads(client.get_schema(schema_id).schema_str or "") == ORDER
    assert http.get(f"/schemas/ids/{schema_id}").json() == {
        "schema": json.dumps(ORDER, separators=(",", ":"))
    }
    assert json.loads(http.get(f"/schemas/ids/{schema_id}/schema").text) == ORDER
    assert client.get_schema_types() == ["AVRO"]


def test_a_version_and_its_raw_schema(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    orders = subject("orders")
    schema_id = client.register_schema(orders, avro(ORDER))
    answer = http.get(f"/subjects/{orders}/versions/latest")
    assert answer.headers["content-type"] == "application/vnd.schemaregistry.v1+json"
    assert answer.json() == {
        "subject": orders,
        "version": 1,
        "id": schema_id,
        "schema": json.dumps(ORDER, separators=(",", ":")),
    }
    assert json.loads(http.get(f"/subjects/{orders}/versions/1/schema").text) == ORDER


def test_subjects_are_listed_sorted(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    names = [subject("b"), subject("a")]
    for name in names:
        client.register_schema(name, avro(ORDER))
    listed = client.get_subjects()
    assert set(names) <= set(listed)
    assert listed == sorted(listed)


def test_plain_json_is_accepted_and_a_primitive_schema_works(
    http: httpx.Client, subject: Callable[[str], str]
) -> None:
    keys = subject("keys")
    answer = http.post(
        f"/subjects/{keys}/versions",
        content=json.dumps({"schema": '"string"'}),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 200
    schema_id = answer.json()["id"]
    assert http.get(f"/subjects/{keys}/versions/1").json()["schema"] == '"string"'
    assert http.get(f"/schemas/ids/{schema_id}").json() == {"schema": '"string"'}


def test_the_root_and_health_answer(http: httpx.Client) -> None:
    assert http.get("/").json() == {}
    assert http.get("/health").json() == {"status": "UP"}
