"""Error statuses, codes and bodies, exactly as Confluent's clients expect them."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from eventyard_schema_registry import Settings, bootstrap, create_app

NewDatabase = Callable[[], AbstractContextManager[str]]
Serve = Callable[[FastAPI], AbstractContextManager[str]]

RECORD = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})


def register(http: httpx.Client, subject: str, schema: str, **extra: object) -> httpx.Response:
    return http.post(f"/subjects/{subject}/versions", json={"schema": schema, **extra})


def test_an_invalid_avro_schema_is_42201_naming_the_problem(
    http: httpx.Client, subject: Callable[[str], str]
) -> None:
    bad = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "Nope"}]})
    answer = register(http, subject("bad"), bad)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error_code"] == 42201
    assert "Nope" in body["message"]
    assert set(body) == {"error_code", "message"}


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ('{"type": "record", ', "not valid JSON"),
        ("", "Empty schema"),
        ('{"type": "enum", "name": "E", "symbols": ["A", "A"]}', "A"),
    ],
)
def test_unusable_schemas_are_42201(
    http: httpx.Client, subject: Callable[[str], str], schema: str, why: str
) -> None:
    answer = register(http, subject("bad"), schema)
    assert (answer.status_code, answer.json()["error_code"]) == (422, 42201)
    assert why in answer.json()["message"]


def test_only_avro_is_accepted(http: httpx.Client, subject: Callable[[str], str]) -> None:
    answer = register(http, subject("proto"), 'syntax = "proto3";', schemaType="PROTOBUF")
    assert (answer.status_code, answer.json()["error_code"]) == (422, 42201)
    assert "PROTOBUF" in answer.json()["message"]


def test_a_body_that_is_not_json_is_400(http: httpx.Client, subject: Callable[[str], str]) -> None:
    answer = http.post(f"/subjects/{subject('x')}/versions", content=b"{nope")
    assert answer.status_code == 400
    assert answer.json()["error_code"] == 400


@pytest.mark.parametrize("version", ["abc", "0", "-2", "2147483648"])
def test_invalid_versions_are_42202(
    http: httpx.Client, subject: Callable[[str], str], version: str
) -> None:
    orders = subject("orders")
    register(http, orders, RECORD)
    answer = http.get(f"/subjects/{orders}/versions/{version}")
    assert answer.status_code == 422
    assert answer.json() == {
        "error_code": 42202,
        "message": f"The specified version '{version}' is not a valid version id. "
        'Allowed values are between [1, 2^31-1] and the string "latest"',
    }


def test_unknown_subject_version_and_schema_are_40401_40402_40403(
    http: httpx.Client, subject: Callable[[str], str]
) -> None:
    orders, nobody = subject("orders"), subject("nobody")
    register(http, orders, RECORD)
    assert http.get(f"/subjects/{nobody}/versions").json() == {
        "error_code": 40401,
        "message": f"Subject '{nobody}' not found.",
    }
    assert http.get(f"/subjects/{nobody}/versions/1").status_code == 404
    assert http.get(f"/subjects/{orders}/versions/7").json() == {
        "error_code": 40402,
        "message": "Version 7 not found.",
    }
    answer = http.get("/schemas/ids/987654")
    assert answer.status_code == 404
    assert answer.json() == {"error_code": 40403, "message": "Schema 987654 not found"}


def test_invalid_compatibility_level_is_42203(http: httpx.Client) -> None:
    answer = http.put("/config", json={"compatibility": "SIDEWAYS"})
    assert answer.status_code == 422
    assert answer.json() == {
        "error_code": 42203,
        "message": "Invalid compatibility level. Valid values are none, backward, forward, "
        "full, backward_transitive, forward_transitive, and full_transitive",
    }


def test_invalid_mode_is_42204(http: httpx.Client, subject: Callable[[str], str]) -> None:
    answer = http.put(f"/mode/{subject('m')}", json={"mode": "READSOMETIMES"})
    assert (answer.status_code, answer.json()["error_code"]) == (422, 42204)


def test_unknown_paths_answer_in_the_same_shape(http: httpx.Client) -> None:
    answer = http.get("/no/such/thing")
    assert answer.status_code == 404
    assert answer.json() == {"error_code": 404, "message": "HTTP 404 Not Found"}


def test_a_failing_database_is_50001_and_health_says_503(
    new_database: NewDatabase, serve: Serve, pg_dsn: str
) -> None:
    with new_database() as dsn:
        settings = Settings(dsn=dsn)
        registry = bootstrap(settings)
        try:
            with (
                serve(create_app(settings, registry=registry)) as url,
                httpx.Client(base_url=url) as http,
            ):
                assert http.get("/health").status_code == 200
                _drop(pg_dsn, dsn)
                answer = http.get("/subjects")
                assert answer.status_code == 500
                assert answer.json()["error_code"] == 50001
                assert answer.json()["message"].startswith("Error in the backend data store")
                health = http.get("/health")
                assert (health.status_code, health.json()["error_code"]) == (503, 50001)
        finally:
            registry.close()


def _drop(pg_dsn: str, dsn: str) -> None:
    name = str(conninfo_to_dict(dsn)["dbname"])
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
