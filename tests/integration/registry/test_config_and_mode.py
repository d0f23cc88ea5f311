"""/config and /mode: global and per-subject settings, READONLY and IMPORT."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError


def schema(name: str, *optional: str) -> Schema:
    fields = [{"name": field, "type": "int", "default": 0} for field in optional]
    return Schema(json.dumps({"type": "record", "name": name, "fields": fields}), "AVRO")


@pytest.fixture
def restore_globals(http: httpx.Client) -> Iterator[None]:
    """This module shares one registry: put the global level and mode back after a test."""
    yield
    http.delete("/config")
    http.delete("/mode")


@pytest.mark.usefixtures("restore_globals")
def test_global_level_defaults_to_backward_and_can_change(
    client: SchemaRegistryClient, http: httpx.Client
) -> None:
    assert http.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    changed: object = client.set_compatibility(level="full")  # typed str; it is the JSON body
    assert changed == {"compatibility": "FULL"}
    assert client.get_compatibility() == "FULL"
    assert http.delete("/config").json() == {"compatibilityLevel": "FULL"}
    assert client.get_compatibility() == "BACKWARD"


@pytest.mark.usefixtures("restore_globals")
def test_subject_level_falls_back_to_global_only_when_asked(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    http.put("/config", json={"compatibility": "FORWARD_TRANSITIVE"})
    answer = http.get(f"/config/{users}")
    assert answer.status_code == 404
    assert answer.json() == {
        "error_code": 40408,
        "message": f"Subject '{users}' does not have subject-level compatibility configured",
    }
    fallback = http.get(f"/config/{users}", params={"defaultToGlobal": "true"})
    assert fallback.json() == {"compatibilityLevel": "FORWARD_TRANSITIVE"}
    changed: object = client.set_compatibility(users, "full_transitive")  # typed str: a dict
    assert changed == {"compatibility": "FULL_TRANSITIVE"}
    assert client.get_compatibility(users) == "FULL_TRANSITIVE"
    level = client.get_config(users).compatibility_level
    assert level is not None
    assert level.value == "FULL_TRANSITIVE"
    assert http.delete(f"/config/{users}").json() == {"compatibilityLevel": "FULL_TRANSITIVE"}
    assert http.delete(f"/config/{users}").json()["error_code"] == 40401


def test_a_lowercase_level_is_accepted_over_http(
    http: httpx.Client, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    assert http.put(f"/config/{users}", json={"compatibility": "none"}).json() == {
        "compatibility": "NONE"
    }


@pytest.mark.usefixtures("restore_globals")
def test_readonly_refuses_new_schemas_but_finds_registered_ones(
    client: SchemaRegistryClient, own_registry_url: str, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    schema_id = client.register_schema(users, schema("A"))
    assert client.update_mode(users, "READONLY") == "READONLY"
    assert client.get_mode(users) == "READONLY"
    fresh = SchemaRegistryClient({"url": own_registry_url})  # no cached ids
    assert fresh.register_schema(users, schema("A")) == schema_id
    with pytest.raises(SchemaRegistryError) as refused:
        fresh.register_schema(users, schema("A", "b"))
    assert (refused.value.http_status_code, refused.value.error_code) == (422, 42205)
    with pytest.raises(SchemaRegistryError) as no_delete:
        fresh.delete_subject(users)
    assert no_delete.value.error_code == 42205
    assert client.delete_mode(users) == "READONLY"
    assert fresh.register_schema(users, schema("A", "b")) > schema_id


@pytest.mark.usefixtures("restore_globals")
def test_global_mode_applies_to_subjects_without_their_own(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    assert client.get_global_mode() == "READWRITE"
    assert http.get(f"/mode/{users}").json()["error_code"] == 40409
    assert client.update_global_mode("READONLY") == "READONLY"
    assert http.get(f"/mode/{users}", params={"defaultToGlobal": True}).json() == {
        "mode": "READONLY"
    }
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(users, schema("A"))
    assert refused.value.error_code == 42205
    client.update_mode(users, "READWRITE")
    assert client.register_schema(users, schema("A")) > 0


def test_import_mode_keeps_the_given_ids_and_versions(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    imported, later = subject("imported"), subject("later")
    assert client.update_mode(imported, "IMPORT") == "IMPORT"
    body = {"schema": schema("Imported").schema_str, "id": 4242, "version": 7}
    assert http.post(f"/subjects/{imported}/versions", json=body).json() == {"id": 4242}
    version = client.get_version(imported, 7)
    assert (version.schema_id, version.version) == (4242, 7)
    assert json.loads(client.get_schema(4242).schema_str or "")["name"] == "Imported"
    # Without an id, IMPORT refuses; ids then continue above the imported ones.
    without_id = http.post(
        f"/subjects/{imported}/versions", json={"schema": schema("X").schema_str}
    )
    assert without_id.json()["error_code"] == 42205
    assert client.register_schema(later, schema("Later")) > 4242


def test_import_mode_needs_force_on_a_subject_with_versions(
    client: SchemaRegistryClient, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    client.register_schema(users, schema("A"))
    refused = http.put(f"/mode/{users}", json={"mode": "IMPORT"})
    assert refused.json() == {
        "error_code": 42205,
        "message": "Cannot import since found existing subjects",
    }
    assert client.update_mode(users, "IMPORT", force=True) == "IMPORT"


def test_an_id_outside_import_mode_is_refused(
    http: httpx.Client, subject: Callable[[str], str]
) -> None:
    users = subject("users")
    answer = http.post(
        f"/subjects/{users}/versions", json={"schema": schema("A").schema_str, "id": 99}
    )
    assert (answer.status_code, answer.json()["error_code"]) == (422, 42205)
