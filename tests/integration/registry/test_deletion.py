"""Soft and permanent deletion of versions and subjects, with Confluent's rules and codes."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError


def version_schema(n: int) -> Schema:
    """Version ``n`` of a record that gains an optional field each time (BACKWARD-safe)."""
    fields = [{"name": f"f{i}", "type": "int", "default": 0} for i in range(n)]
    return Schema(json.dumps({"type": "record", "name": "Thing", "fields": fields}), "AVRO")


def register_versions(client: SchemaRegistryClient, subject: str, count: int) -> list[int]:
    return [client.register_schema(subject, version_schema(n)) for n in range(1, count + 1)]


def test_soft_deleted_versions_hide_until_asked_for(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    things = subject("things")
    register_versions(client, things, 2)
    assert client.delete_version(things, 1) == 1
    assert client.get_versions(things) == [2]
    assert client.get_versions(things, deleted=True) == [1, 2]
    assert http.get(f"/subjects/{things}/versions/1").json()["error_code"] == 40402
    assert (
        http.get(f"/subjects/{things}/versions/1", params={"deleted": "true"}).json()["version"]
        == 1
    )


def test_version_deletion_codes(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    things = subject("things")
    register_versions(client, things, 2)
    not_soft = http.delete(f"/subjects/{things}/versions/2", params={"permanent": "true"})
    assert not_soft.json() == {
        "error_code": 40407,
        "message": f"Subject '{things}' Version 2 was not deleted first before being "
        "permanently deleted",
    }
    assert http.delete(f"/subjects/{things}/versions/2").json() == 2
    again = http.delete(f"/subjects/{things}/versions/2")
    assert again.status_code == 404
    assert again.json() == {
        "error_code": 40406,
        "message": f"Subject '{things}' Version 2 was soft deleted.Set permanent=true to "
        "delete permanently",
    }
    assert client.delete_version(things, 2, permanent=True) == 2
    assert client.get_versions(things, deleted=True) == [1]
    assert http.delete(f"/subjects/{things}/versions/9").json()["error_code"] == 40402
    assert http.delete(f"/subjects/{subject('nobody')}/versions/1").json()["error_code"] == 40401


def test_deleting_latest_takes_the_latest_live_version(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    things = subject("things")
    register_versions(client, things, 3)
    assert client.delete_version(things, "latest") == 3  # type: ignore[arg-type]
    assert client.delete_version(things, "latest") == 2  # type: ignore[arg-type]
    assert client.get_latest_version(things).version == 1


def test_subject_deletion_soft_then_permanent(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    things = subject("things")
    ids = register_versions(client, things, 2)
    not_soft = http.delete(f"/subjects/{things}", params={"permanent": "true"})
    assert not_soft.json() == {
        "error_code": 40405,
        "message": f"Subject '{things}' was not deleted first before being permanently deleted",
    }
    assert client.delete_subject(things) == [1, 2]
    assert things not in client.get_subjects()
    assert things in client.get_subjects(deleted=True)
    assert things in http.get("/subjects", params={"deletedOnly": "true"}).json()
    assert http.get(f"/subjects/{things}/versions").json()["error_code"] == 40401
    again = http.delete(f"/subjects/{things}")
    assert again.json() == {
        "error_code": 40404,
        "message": f"Subject '{things}' was soft deleted.Set permanent=true to delete permanently",
    }
    assert client.delete_subject(things, permanent=True) == [1, 2]
    assert things not in client.get_subjects(deleted=True)
    assert http.delete(f"/subjects/{things}").json()["error_code"] == 40401
    # Ids stay readable, so data written with them can still be decoded.
    assert json.loads(client.get_schema(ids[0]).schema_str or "")["name"] == "Thing"


def test_registering_again_after_a_soft_delete_reuses_the_id_with_a_new_version(
    client: SchemaRegistryClient, own_registry_url: str, subject: Callable[[str], str]
) -> None:
    things = subject("things")
    (schema_id,) = register_versions(client, things, 1)
    client.delete_subject(things)
    again = SchemaRegistryClient({"url": own_registry_url}).register_schema(
        things, version_schema(1)
    )
    assert again == schema_id
    assert client.get_latest_version(things).version == 2
    # As Confluent: the soft-deleted copy of the same schema is removed for good.
    assert client.get_versions(things, deleted=True) == [2]


def test_permanent_deletion_drops_the_subjects_settings(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    things = subject("things")
    register_versions(client, things, 1)
    client.set_compatibility(things, "NONE")
    client.delete_subject(things)
    assert client.get_compatibility(things) == "NONE"  # a soft delete keeps them
    client.delete_subject(things, permanent=True)
    assert http.get(f"/config/{things}").json()["error_code"] == 40408


def test_the_client_sees_deletion_errors(
    client: SchemaRegistryClient, subject: Callable[[str], str]
) -> None:
    with pytest.raises(SchemaRegistryError) as unknown:
        client.delete_subject(subject("nobody"))
    assert (unknown.value.http_status_code, unknown.value.error_code) == (404, 40401)
