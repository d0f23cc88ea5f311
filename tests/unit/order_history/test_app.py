"""The HTTP edge before the service has booted: alive, not ready, 503 instead of errors."""

from __future__ import annotations

from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from eventyard.service import ConfigError
from eventyard_order_history.bootstrap import bootstrap
from eventyard_order_history.entrypoints.app import create_app
from eventyard_order_history.settings import Settings


def _settings(**overrides: str) -> Settings:
    given = {
        "pg_dsn": "postgresql://postgres@127.0.0.1:1/postgres",
        "kafka_bootstrap": "127.0.0.1:1",
        "connect_url": "http://127.0.0.1:1",
        **overrides,
    }
    return Settings(**given)  # type: ignore[arg-type]


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(_settings()))  # no lifespan: nothing boots


def test_alive_but_not_ready_before_boot(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "service": "order-history"}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "not ready"
    assert "boot" in response.json()["checks"]


def test_reads_answer_503_before_boot(client: TestClient) -> None:
    for path in (f"/customers/{uuid4()}/orders", "/stats/skus"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.headers["retry-after"] == "1"


def test_a_malformed_customer_id_is_422(client: TestClient) -> None:
    assert client.get("/customers/not-a-uuid/orders").status_code == 422


def test_defaults_follow_the_plan() -> None:
    settings = _settings()
    assert settings.port == 58104
    assert "dbname=eventyard_order_history" in settings.database_dsn()
    assert (settings.orders_database, settings.customers_database) == (
        "eventyard_orders",
        "eventyard_customers",
    )


def test_connect_url_is_required() -> None:
    with pytest.raises(ConfigError, match="EVENTYARD_CONNECT_URL"):
        bootstrap(_settings(connect_url=""))
