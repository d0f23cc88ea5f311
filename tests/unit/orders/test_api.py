"""The HTTP edge without a database: validation (422), the body limit (413), not ready (503)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from eventyard_orders import Settings, bootstrap, create_app


@pytest.fixture
def client() -> TestClient:
    # Nothing listens there, and the lifespan (which would boot) is not entered.
    settings = Settings(
        pg_dsn="host=127.0.0.1 port=9 user=nobody",
        kafka_bootstrap="127.0.0.1:9",
        registry_url="http://127.0.0.1:9",
    )
    return TestClient(create_app(bootstrap(settings)), raise_server_exceptions=False)


def _valid() -> dict[str, Any]:
    return {"customer_id": str(uuid.uuid4()), "lines": [{"sku": "apple", "quantity": 1}]}


def _errors(response: Any) -> list[tuple[tuple[str | int, ...], str]]:
    assert response.status_code == 422, response.text
    return [(tuple(e["loc"]), e["type"]) for e in response.json()["detail"]]


def test_a_valid_order_waits_for_the_database(client: TestClient) -> None:
    response = client.post("/orders", json=_valid())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"lines": []}, [(("body", "lines"), "too_short")]),
        (
            {"lines": [{"sku": "apple", "quantity": 0}]},
            [(("body", "lines", 0, "quantity"), "greater_than_equal")],
        ),
        (
            {"lines": [{"sku": "apple", "quantity": "2"}]},
            [(("body", "lines", 0, "quantity"), "int_type")],
        ),
        (
            {"lines": [{"sku": "apple", "quantity": 1.5}]},
            [(("body", "lines", 0, "quantity"), "int_type")],
        ),
        (
            {"lines": [{"sku": "", "quantity": 1}]},
            [(("body", "lines", 0, "sku"), "string_too_short")],
        ),
        ({"lines": [{"quantity": 1}]}, [(("body", "lines", 0, "sku"), "missing")]),
        (
            {"lines": [{"sku": f"s{i}", "quantity": 1} for i in range(101)]},
            [(("body", "lines"), "too_long")],
        ),
        (
            {"lines": [{"sku": "apple", "quantity": 1}, {"sku": "apple", "quantity": 2}]},
            [(("body", "lines"), "value_error")],
        ),
        ({"customer_id": "ada"}, [(("body", "customer_id"), "uuid_parsing")]),
        ({"coupon": "FREE"}, [(("body", "coupon"), "extra_forbidden")]),
    ],
    ids=[
        "no lines",
        "zero quantity",
        "quantity as text",
        "fractional quantity",
        "empty sku",
        "missing sku",
        "too many lines",
        "a sku twice",
        "customer not a uuid",
        "unknown field",
    ],
)
def test_a_malformed_order_is_refused_with_field_errors(
    client: TestClient, change: dict[str, Any], expected: list[tuple[tuple[str | int, ...], str]]
) -> None:
    assert _errors(client.post("/orders", json=_valid() | change)) == expected


def test_a_body_that_is_not_json_is_a_422(client: TestClient) -> None:
    response = client.post(
        "/orders", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert _errors(response)[0][1] == "json_invalid"


def test_an_overlong_idempotency_key_is_a_422(client: TestClient) -> None:
    response = client.post("/orders", json=_valid(), headers={"Idempotency-Key": "k" * 256})
    assert _errors(response) == [(("header", "Idempotency-Key"), "string_too_long")]


def test_a_body_over_the_limit_is_a_413(client: TestClient) -> None:
    body = _valid() | {"padding": "x" * 70_000}
    assert client.post("/orders", json=body).status_code == 413


def test_a_streamed_body_over_the_limit_is_a_413_whatever_its_declared_length(
    client: TestClient,
) -> None:
    data = json.dumps(_valid() | {"padding": "x" * 70_000}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 8192):
            yield data[start : start + 8192]

    response = client.post(
        "/orders", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/orders/not-an-id", "/orders?customer_id=ada", "/orders"])
def test_reads_with_a_bad_or_missing_id_are_a_422(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 422
