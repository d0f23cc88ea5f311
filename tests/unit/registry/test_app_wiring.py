"""The app's routes reach the registry, its policies and its deletions: ``create_app`` over a
registry ``bootstrap`` wired on the in-memory store, called in-process (no server, no socket).
Every answer in detail is pinned over HTTP by tests/integration/registry."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from eventyard_schema_registry import Registry, create_app

SCHEMA = json.dumps({"type": "record", "name": "R", "fields": []})


@pytest.fixture
def http(registry: Registry) -> Iterator[TestClient]:
    with TestClient(create_app(registry=registry)) as client:
        yield client


def test_registration_and_reads(http: TestClient) -> None:
    assert http.post("/subjects/r-value/versions", json={"schema": SCHEMA}).json() == {"id": 1}
    assert http.get("/subjects").json() == ["r-value"]
    assert http.get("/subjects/r-value/versions/latest").json()["id"] == 1
    assert http.get("/schemas/ids/1").json() == {"schema": SCHEMA.replace(" ", "")}
    assert http.get("/health").json() == {"status": "UP"}


def test_levels_and_modes_reach_the_policies(http: TestClient) -> None:
    assert http.put("/config", json={"compatibility": "full"}).json() == {"compatibility": "FULL"}
    assert http.get("/config").json() == {"compatibilityLevel": "FULL"}
    assert http.get("/config/r-value").json()["error_code"] == 40408
    assert http.put("/mode/r-value", json={"mode": "READONLY"}).json() == {"mode": "READONLY"}
    refused = http.post("/subjects/r-value/versions", json={"schema": SCHEMA})
    assert (refused.status_code, refused.json()["error_code"]) == (422, 42205)
    assert http.delete("/mode/r-value").json() == {"mode": "READONLY"}


def test_deletes_reach_the_deletions(http: TestClient) -> None:
    http.post("/subjects/r-value/versions", json={"schema": SCHEMA})
    assert http.delete("/subjects/r-value/versions/1").json() == 1
    assert http.delete("/subjects/r-value", params={"permanent": "true"}).json() == [1]
    assert http.get("/subjects", params={"deleted": "true"}).json() == []
