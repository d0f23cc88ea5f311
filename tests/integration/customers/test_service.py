"""The customers service as it runs: its app on a fresh database with the stack's Kafka, the
HTTP contract, and a saga command that arrives on Kafka and is answered on Kafka."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from fastapi.testclient import TestClient

from eventyard.saga import CommandEnvelope, Phase
from eventyard_customers.entrypoints.app import create_app
from eventyard_customers.settings import Settings


@pytest.fixture
def prefix(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> str:
    """A topic prefix of this test's own, with the command and reply topics created."""
    name = unique_name("shop")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topics = [f"{name}.customers.commands", f"{name}.saga.replies"]
    for future in admin.create_topics([NewTopic(t, num_partitions=2) for t in topics]).values():
        future.result(30)
    return name


@pytest.fixture
def client(pg_database: str, kafka_bootstrap: str, prefix: str) -> Iterator[TestClient]:
    """The app, started (lifespan) and ready: migrated, Kafka reached, workers running."""
    settings = Settings(dsn=pg_database, kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix)
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 60
        ready = client.get("/readyz")
        while ready.status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json()
        yield client


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
    client: TestClient,
    kafka_bootstrap: str,
    prefix: str,
    consume: Any,
    pg_database: str,
) -> None:
    customer = client.post("/customers", json={"name": "Bo", "credit_limit": 5_000}).json()
    saga, order = uuid.uuid4(), uuid.uuid4()
    command = CommandEnvelope(
        saga_id=saga,
        saga_type="order",
        saga_version=1,
        step="reserve_credit",
        phase=Phase.ACTION,
        attempt=1,
        name="ReserveCredit",
        payload={"order_id": str(order), "customer_id": customer["id"], "amount": 1_200},
        reply_to="saga.replies",
    )
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(
        f"{prefix}.customers.commands",
        key=str(saga),
        value=json.dumps(command.to_json()),
        headers={"id": str(uuid.uuid4()), "eventType": "SagaCommand"},
    )
    assert producer.flush(30) == 0
    answer = _reply(consume, f"{prefix}.saga.replies", client, pg_database)
    assert (answer["saga_id"], answer["outcome"]) == (str(saga), "success")
    assert answer["data"] == {"reservation_id": str(order)}
    after = client.get(f"/customers/{customer['id']}").json()
    assert (after["credit_reserved"], after["credit_available"]) == (1_200, 3_800)


def _reply(consume: Any, topic: str, client: TestClient, dsn: str) -> Any:
    """The first reply on ``topic``; without one, what the service knows about its command."""
    got = consume(topic, 1, timeout_s=120)
    if not got:
        with psycopg.connect(dsn) as conn:
            inbox = conn.execute("SELECT state, attempts, last_error FROM inbox").fetchall()
            outbox = conn.execute("SELECT count(*) FROM outbox").fetchone()
        pytest.fail(
            f"no reply on {topic}: readyz {client.get('/readyz').json()}, inbox {inbox}, "
            f"unsent outbox rows {outbox}"
        )
    return json.loads(got[0].value())
