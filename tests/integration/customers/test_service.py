"""The customers service as it runs: its app on a fresh database with the stack's Kafka, the
HTTP contract, and a saga command that arrives on Kafka and is answered on Kafka."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.service.participant_fixtures import Command, OverKafka


def test_customers_are_opened_and_read_in_cents(client: TestClient) -> None:
    created = client.post("/customers", json={"name": "Ada", "credit_limit": 10_000})
    assert created.status_code == 201
    body = created.json()
    assert body == {
        "id": body["id"],
        "name": "Ada",
        "credit_limit": 10_000,
        "credit_reserved": 0,
        "credit_available": 10_000,
    }
    assert client.get(f"/customers/{body['id']}").json() == body
    assert client.get("/healthz").json()["status"] == "ok"


def test_an_unknown_customer_is_404_with_a_detail(client: TestClient) -> None:
    stranger = uuid.uuid4()
    missing = client.get(f"/customers/{stranger}")
    assert (missing.status_code, missing.json()) == (
        404,
        {"detail": f"unknown customer {stranger}"},
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Ada"},
        {"credit_limit": 100},
        {"name": "", "credit_limit": 100},
        {"name": "   ", "credit_limit": 100},
        {"name": "Ada", "credit_limit": -1},
        {"name": "Ada", "credit_limit": "100"},
        {"name": "Ada", "credit_limit": 1.5},
        {"name": "Ada", "credit_limit": 100, "credit_reserved": 50},
    ],
    ids=["no-limit", "no-name", "empty", "blank", "negative", "string", "float", "extra"],
)
def test_bad_input_is_422_with_field_errors(client: TestClient, body: dict[str, Any]) -> None:
    answer = client.post("/customers", json=body)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][0] == "body"


def test_a_malformed_id_is_422(client: TestClient) -> None:
    assert client.get("/customers/not-a-uuid").status_code == 422


def test_a_command_on_kafka_is_applied_and_answered_on_kafka(
    client: TestClient, command: Command, over_kafka: OverKafka
) -> None:
    customer = client.post("/customers", json={"name": "Bo", "credit_limit": 5_000}).json()
    saga, order = uuid.uuid4(), uuid.uuid4()
    answer = over_kafka(
        command(
            "ReserveCredit", saga_id=saga, order_id=order, customer_id=customer["id"], amount=1_200
        )
    )
    assert (answer["saga_id"], answer["outcome"]) == (str(saga), "success")
    assert answer["data"] == {"reservation_id": str(order)}
    after = client.get(f"/customers/{customer['id']}").json()
    assert (after["credit_reserved"], after["credit_available"]) == (1_200, 3_800)
