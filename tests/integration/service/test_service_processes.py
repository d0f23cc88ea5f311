"""``python -m eventyard_<service> serve`` as the stack runs each participant service (customers,
inventory): ready, traced under the service's name in the trace backend, JSON logs, and a clean
exit on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.eventually import eventually

#: Each service and a request that creates something in it.
SERVICES = {
    "customers": ("/customers", {"name": "Cy", "credit_limit": 100}),
    "inventory": ("/products", {"sku": "CUP-1", "name": "Cup", "price": 900, "stock": 5}),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=sorted(SERVICES))
def service(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def environment(
    service: str,
    pg_database: str,
    kafka_bootstrap: str,
    otlp_endpoint: str,
    unique_name: Callable[[str], str],
) -> dict[str, str]:
    """The service's environment: a fresh database, the stack's Kafka and trace backend."""
    return {
        **os.environ,
        f"EVENTYARD_{service.upper()}_DSN": pg_database,
        "EVENTYARD_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EVENTYARD_SHOP_TOPIC_PREFIX": unique_name("shop"),
        "EVENTYARD_OTLP_ENDPOINT": otlp_endpoint,
    }


def test_the_process_serves_traces_and_exits_cleanly_on_sigterm(
    service: str, environment: dict[str, str], traces_url: str, tmp_path: Path
) -> None:
    path, body = SERVICES[service]
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    stderr = tmp_path / "stderr.log"
    with stderr.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", f"eventyard_{service}", "serve", "--port", str(port)],
            env=environment,
            stderr=log,
        )
        try:
            eventually(
                lambda: httpx.get(f"{url}/readyz").status_code == 200,
                timeout=60,
                description="readiness",
            )
            created = httpx.post(f"{url}{path}", json=body)
            assert created.status_code == 201
            trace_id = created.headers["traceresponse"].split("-")[1]

            def services() -> set[str]:
                answer = httpx.get(f"{traces_url}/api/traces/{trace_id}")
                if answer.status_code != 200:
                    return set()
                return {
                    p["serviceName"] for t in answer.json()["data"] for p in t["processes"].values()
                }

            assert eventually(services, timeout=60, description="the request's trace") == {service}
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
    # uvicorn re-raises SIGTERM once it has shut down gracefully, so the exit says "terminated";
    # the log says the workers stopped and the shutdown completed first.
    assert code in {0, -signal.SIGTERM}, stderr.read_text()
    events = [json.loads(line) for line in stderr.read_text().splitlines() if line.startswith("{")]
    said = [e.get("event") for e in events]
    assert {"ready", "stopped", "Application shutdown complete."} <= set(said)
    assert said.index("stopped") < said.index("Application shutdown complete.")
