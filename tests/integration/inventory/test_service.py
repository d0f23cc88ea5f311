"""The inventory service as it runs: its app on a fresh database with the stack's Kafka, the
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
from eventyard_inventory.entrypoints.app import create_app
from eventyard_inventory.settings import Settings

LAMP = {"sku": "LAMP-1", "name": "Desk lamp", "price": 4_500, "stock": 10}


@pytest.fixture
def prefix(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> str:
    """A topic prefix of this test's own, with the command and reply topics created."""
    name = unique_name("shop")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topics = [f"{name}.inventory.commands", f"{name}.saga.replies"]
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
    client: TestClient,
    kafka_bootstrap: str,
    prefix: str,
    consume: Any,
    pg_database: str,
) -> None:
    client.post("/products", json=LAMP)
    saga, order = uuid.uuid4(), uuid.uuid4()
    command = CommandEnvelope(
        saga_id=saga,
        saga_type="order",
        saga_version=1,
        step="reserve_stock",
        phase=Phase.ACTION,
        attempt=1,
        name="ReserveStock",
        payload={"order_id": str(order), "lines": [{"sku": "LAMP-1", "quantity": 4}]},
        reply_to="saga.replies",
    )
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(
        f"{prefix}.inventory.commands",
        key=str(saga),
        value=json.dumps(command.to_json()),
        headers={"id": str(uuid.uuid4()), "eventType": "SagaCommand"},
    )
    assert producer.flush(30) == 0
    answer = _reply(consume, f"{prefix}.saga.replies", client, pg_database)
    assert (answer["saga_id"], answer["outcome"]) == (str(saga), "success")
    assert answer["data"] == {"lines": [{"sku": "LAMP-1", "quantity": 4}]}
    assert client.get("/products/LAMP-1").json() == {**LAMP, "reserved": 4}
    below = client.put("/products/LAMP-1/stock", json={"stock": 3})
    assert (below.status_code, below.json()) == (
        409,
        {"detail": "stock 3 of LAMP-1 is below the 4 units orders hold"},
    )
    assert client.put("/products/LAMP-1/stock", json={"stock": 4}).json()["reserved"] == 4


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
