"""Compatibility levels enforced at registration, and the /compatibility checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError


def record(*fields: dict[str, Any]) -> Schema:
    return Schema(json.dumps({"type": "record", "name": "User", "fields": list(fields)}), "AVRO")


NAME = {"name": "name", "type": "string"}
AGE = {"name": "age", "type": "int"}
AGE_OPTIONAL = {"name": "age", "type": "int", "default": 0}
AGE_TEXT = {"name": "age", "type": "string", "default": ""}


def test_backward_is_the_default_and_rejects_a_new_field_without_default(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    client.register_schema(users, record(NAME))
    with pytest.raises(SchemaRegistryError) as rejected:
        client.register_schema(users, record(NAME, AGE))
    error = rejected.value
    assert (error.http_status_code, error.error_code) == (409, 409)
    assert error.error_message.startswith(
        f'Schema being registered is incompatible with an earlier schema for subject "{users}"'
    )
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in error.error_message
    assert "{oldSchemaVersion: 1}" in error.error_message
    assert "compatibility: 'BACKWARD'" in error.error_message
    assert client.register_schema(users, record(NAME, AGE_OPTIONAL)) > 0
    assert client.get_versions(users) == [1, 2]


def test_level_none_accepts_anything(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    client.register_schema(users, record(NAME))
    client.set_compatibility(users, "NONE")
    client.register_schema(users, record(AGE))
    assert client.get_versions(users) == [1, 2]


def test_transitive_levels_check_every_version_oldest_too(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    # v1 has age:int, v2 drops it, v3 brings it back as a string: BACKWARD compares with v2
    # only (fine), BACKWARD_TRANSITIVE also with v1 (int cannot be read as string).
    users = subject("users")
    client.register_schema(users, record(NAME, AGE))
    client.register_schema(users, record(NAME))
    client.set_compatibility(users, "BACKWARD_TRANSITIVE")
    assert not client.test_compatibility_all_versions(users, record(NAME, AGE_TEXT))
    with pytest.raises(SchemaRegistryError) as rejected:
        client.register_schema(users, record(NAME, AGE_TEXT))
    assert "TYPE_MISMATCH" in rejected.value.error_message
    assert "{oldSchemaVersion: 1}" in rejected.value.error_message
    client.set_compatibility(users, "BACKWARD")
    assert client.test_compatibility_all_versions(users, record(NAME, AGE_TEXT))
    client.register_schema(users, record(NAME, AGE_TEXT))
    assert client.get_versions(users) == [1, 2, 3]


def test_forward_rejects_removing_a_field_old_readers_need(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    client.set_compatibility(users, "FORWARD")
    client.register_schema(users, record(NAME, AGE))
    assert not client.test_compatibility(users, record(NAME))
    assert client.test_compatibility(users, record(NAME, AGE, {"name": "x", "type": "int"}))


def test_verbose_answers_carry_the_findings(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    client.register_schema(users, record(NAME))
    new = record(NAME, AGE).schema_str
    answer = http.post(
        f"/compatibility/subjects/{users}/versions/latest?verbose=true", json={"schema": new}
    ).json()
    assert answer["is_compatible"] is False
    finding, version, old, level = answer["messages"]
    assert finding.startswith("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', description:'")
    assert "additionalInfo:'/fields/1'" in finding
    assert version == "{oldSchemaVersion: 1}"
    assert old.startswith("{oldSchema: '")
    assert level == "{validateFields: 'false', compatibility: 'BACKWARD'}"
    quiet = http.post(f"/compatibility/subjects/{users}/versions/1", json={"schema": new})
    assert quiet.json() == {"is_compatible": False}
    fine = http.post(
        f"/compatibility/subjects/{users}/versions?verbose=true",
        json={"schema": record(NAME, AGE_OPTIONAL).schema_str},
    )
    assert fine.json() == {"is_compatible": True, "messages": []}


def test_a_check_against_a_version_uses_that_version_only(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    client.set_compatibility(users, "NONE")
    client.register_schema(users, record(NAME))
    client.register_schema(users, record(AGE))
    client.set_compatibility(users, "BACKWARD")
    assert client.test_compatibility(users, record(AGE), version=2)
    assert not client.test_compatibility(users, record(AGE), version=1)


def test_checks_against_unknown_subjects_and_versions(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    nobody, users = subject("nobody"), subject("users")
    assert client.test_compatibility(nobody, record(NAME))  # nothing to break
    with pytest.raises(SchemaRegistryError) as unknown:
        client.test_compatibility(nobody, record(NAME), version=1)
    assert unknown.value.error_code == 40401
    client.register_schema(users, record(NAME))
    with pytest.raises(SchemaRegistryError) as missing:
        client.test_compatibility(users, record(NAME), version=5)
    assert missing.value.error_code == 40402


def test_an_invalid_schema_is_a_finding_when_verbose(
    http: httpx.Client, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    path = f"/compatibility/subjects/{users}/versions/latest"
    answer = http.post(f"{path}?verbose=true", json={"schema": '{"type": "nope"}'})
    assert answer.json()["is_compatible"] is False
    assert "nope" in answer.json()["messages"][0]
    assert http.post(path, json={"schema": '{"type": "nope"}'}).json()["error_code"] == 42201


def test_soft_deleted_versions_are_not_checked(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    client.register_schema(users, record(NAME))
    client.delete_version(users, 1)
    client.register_schema(users, record(AGE))
    assert client.get_versions(users) == [2]
