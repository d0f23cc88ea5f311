"""The service as the stack runs it (``python -m eventyard_order_history serve``): not ready
while its source databases are missing, then ready; its read model and SKU statistics answer
over HTTP; SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.order_history.shop import Shop
from tests.support.eventually import eventually


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _poll(
    url: str, done: Callable[[int, Any], bool], what: str, log: Path, timeout_s: float
) -> tuple[int, Any]:
    """GET ``url`` every half second until ``done(status, body)``; that ``(status, body)``. On
    timeout, the failure shows the last answer (or error) and the tail of the service's log."""

    def answer() -> tuple[int, Any]:
        response = httpx.get(url, timeout=5)
        return response.status_code, response.json()

    try:
        return eventually(
            answer, until=lambda a: done(*a), timeout=timeout_s, interval=0.5, description=what
        )
    except AssertionError as error:
        pytest.fail(f"{error}\n{log.read_text()[-4000:]}")


def test_service_serves_the_read_model_and_sku_statistics(  # noqa: PLR0917 - fixtures
    shop: Shop,
    pg_dsn: str,
    kafka_bootstrap: str,
    connect_url: str,
    tmp_path: Path,
    topics_made: list[str],
) -> None:
    port = _free_port()
    stats_app = f"{shop.prefix}-stats"
    topics_made.append(f"{stats_app}-")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EVENTYARD_")},
        "EVENTYARD_PG_DSN": pg_dsn,
        "EVENTYARD_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EVENTYARD_CONNECT_URL": connect_url,
        "EVENTYARD_SHOP_TOPIC_PREFIX": shop.prefix,
        "EVENTYARD_ORDER_HISTORY_DATABASE": shop.target_db,
        "EVENTYARD_ORDER_HISTORY_ORDERS_DATABASE": shop.orders_db,
        "EVENTYARD_ORDER_HISTORY_CUSTOMERS_DATABASE": shop.customers_db,
        "EVENTYARD_ORDER_HISTORY_PROJECTION_GROUP": shop.prefix,
        "EVENTYARD_ORDER_HISTORY_STATS_APP_ID": stats_app,
        "EVENTYARD_ORDER_HISTORY_CONNECTOR_RETRY_MAX_S": "1",
    }
    log_path = tmp_path / "service.log"
    log = log_path.open("w")
    service = subprocess.Popen(
        [sys.executable, "-m", "eventyard_order_history", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        status, _ = _poll(
            f"{base}/readyz",
            lambda _, body: "does not exist yet" in str(body.get("checks")),
            "readiness naming the missing source databases",
            log_path,
            60,
        )
        assert status == 503

        shop.create_sources()
        ada, grace = uuid.uuid4(), uuid.uuid4()
        shop.sql(
            shop.customers_db,
            "INSERT INTO customers (id, name, credit_limit) VALUES (%s, 'Ada', 10000),"
            " (%s, 'Grace', 500)",
            (ada, grace),
        )
        _poll(
            f"{base}/readyz",
            lambda status, _: status == 200,
            "ready once the sources exist",
            log_path,
            180,
        )

        orders = {uuid.uuid4(): (ada, [("mug", 2), ("tee", 1)]) for _ in range(3)}
        orders[uuid.uuid4()] = (grace, [("mug", 5)])
        for order_id, (customer, lines) in orders.items():
            shop.sql(
                shop.orders_db,
                "INSERT INTO orders (id, customer_id, status, lines) VALUES (%s, %s, 'PENDING',"
                " (SELECT jsonb_agg(jsonb_build_object('sku', s, 'quantity', q))"
                "  FROM unnest(%s::text[], %s::int[]) AS l(s, q)))",
                (order_id, customer, [s for s, _ in lines], [q for _, q in lines]),
            )
        approved, rejected = list(orders)[:3], list(orders)[3]
        for index, order_id in enumerate(approved):
            shop.sql(
                shop.orders_db,
                "UPDATE orders SET status = 'APPROVED', total = 1000,"
                " updated_at = '2026-05-01 10:31:00+00'::timestamptz + %s * interval '35 s'"
                " WHERE id = %s",
                (index, order_id),
            )  # minutes 10:31, 10:31, 10:32
        shop.sql(
            shop.orders_db,
            "UPDATE orders SET status = 'REJECTED', reason = 'INSUFFICIENT_CREDIT', total = 2500"
            " WHERE id = %s",
            (rejected,),
        )
        shop.sql(  # touched again after approval: not counted twice
            shop.orders_db, "UPDATE orders SET trace_id = 'x' WHERE id = %s", (approved[0],)
        )

        expected_ada = sorted(
            (
                {"order_id": str(o), "customer_name": "Ada", "status": "APPROVED", "total": 1000}
                for o in approved
            ),
            key=lambda o: str(o["order_id"]),
        )
        status, _ = _poll(
            f"{base}/customers/{ada}/orders",
            lambda _, body: sorted(body, key=lambda o: o["order_id"]) == expected_ada,
            "Ada's orders",
            log_path,
            90,
        )
        assert status == 200
        expected_grace = [
            {
                "order_id": str(rejected),
                "customer_name": "Grace",
                "status": "REJECTED",
                "total": 2500,
            }
        ]
        _poll(
            f"{base}/customers/{grace}/orders",
            lambda _, body: body == expected_grace,
            "Grace's orders",
            log_path,
            90,
        )
        assert httpx.get(f"{base}/customers/{uuid.uuid4()}/orders", timeout=5).json() == []

        expected_stats = [
            {"sku": "mug", "minute": "2026-05-01T10:31:00Z", "units": 4},
            {"sku": "tee", "minute": "2026-05-01T10:31:00Z", "units": 2},
            {"sku": "mug", "minute": "2026-05-01T10:32:00Z", "units": 2},
            {"sku": "tee", "minute": "2026-05-01T10:32:00Z", "units": 1},
        ]
        _poll(
            f"{base}/stats/skus",
            lambda _, body: body == expected_stats,
            "SKU statistics",
            log_path,
            90,
        )
    finally:
        service.send_signal(signal.SIGTERM)
        code: int | None
        try:
            code = service.wait(60)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait()
            code = None
        log.close()
    # uvicorn re-raises the SIGTERM it handled once it has shut down cleanly
    assert code in {0, -signal.SIGTERM}, log_path.read_text()[-4000:]
    assert "Application shutdown complete" in log_path.read_text()
