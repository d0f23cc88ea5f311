"""The inventory service as it runs: its app on a fresh database with the stack's Kafka, the
HTTP contract, and a saga command that arrives on Kafka and is answered on Kafka."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.service.participant_fixtures import Command, OverKafka

LAMP = {"sku": "LAMP-1", "name": "Desk lamp", "price": 4_500, "stock": 10}


def test_products_are_added_read_and_restocked(client: TestClient) -> None:
    created = client.post("/products", json=LAMP)
    assert (created.status_code, created.json()) == (201, {**LAMP, "reserved": 0})
    assert client.get("/products/LAMP-1").json() == {**LAMP, "reserved": 0}
    restocked = client.put("/products/LAMP-1/stock", json={"stock": 3})
    assert (restocked.status_code, restocked.json()["stock"]) == (200, 3)
    assert client.get("/products/LAMP-1").json()["stock"] == 3
    assert client.get("/healthz").json()["status"] == "ok"


def test_an_existing_sku_is_409_and_unchanged(client: TestClient) -> None:
    client.post("/products", json=LAMP)
    again = client.post("/products", json={**LAMP, "price": 1, "stock": 99})
    assert (again.status_code, again.json()) == (409, {"detail": "product LAMP-1 exists already"})
    assert client.get("/products/LAMP-1").json() == {**LAMP, "reserved": 0}


def test_an_unknown_sku_is_404_with_a_detail(client: TestClient) -> None:
    for answer in (
        client.get("/products/GHOST"),
        client.put("/products/GHOST/stock", json={"stock": 1}),
    ):
        assert (answer.status_code, answer.json()) == (404, {"detail": "unknown sku GHOST"})


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "X", "name": "x", "price": 1},
        {"sku": "", "name": "x", "price": 1, "stock": 1},
        {"sku": "has space", "name": "x", "price": 1, "stock": 1},
        {"sku": "X", "name": " ", "price": 1, "stock": 1},
        {"sku": "X", "name": "x", "price": -1, "stock": 1},
        {"sku": "X", "name": "x", "price": 1, "stock": -1},
        {"sku": "X", "name": "x", "price": "1", "stock": 1},
        {"sku": "X", "name": "x", "price": 1, "stock": 1, "reserved": 1},
    ],
    ids=["no-stock", "empty-sku", "space", "blank-name", "price", "stock", "string", "extra"],
)
def test_bad_input_is_422_with_field_errors(client: TestClient, body: dict[str, Any]) -> None:
    answer = client.post("/products", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][0] == "body"


def test_a_negative_stock_level_is_422(client: TestClient) -> None:
    client.post("/products", json=LAMP)
    assert client.put("/products/LAMP-1/stock", json={"stock": -1}).status_code == 422


def test_stock_below_the_reserved_units_is_409_and_a_held_order_is_shown(
    client: TestClient, command: Command, over_kafka: OverKafka
) -> None:
    client.post("/products", json=LAMP)
    saga, order = uuid.uuid4(), uuid.uuid4()
    answer = over_kafka(
        command(
            "ReserveStock", saga_id=saga, order_id=order, lines=[{"sku": "LAMP-1", "quantity": 4}]
        )
    )
    assert (answer["saga_id"], answer["outcome"]) == (str(saga), "success")
    assert answer["data"] == {"lines": [{"sku": "LAMP-1", "quantity": 4}]}
    assert client.get("/products/LAMP-1").json() == {**LAMP, "reserved": 4}
    below = client.put("/products/LAMP-1/stock", json={"stock": 3})
    assert (below.status_code, below.json()) == (
        409,
        {"detail": "stock 3 of LAMP-1 is below the 4 units orders hold"},
    )
    assert client.put("/products/LAMP-1/stock", json={"stock": 4}).json()["reserved"] == 4
