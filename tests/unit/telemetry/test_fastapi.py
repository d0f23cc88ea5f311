"""instrument_fastapi(): one server span per request, named back in ``traceresponse``."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from eventyard.telemetry import Telemetry, configure, current_traceparent, instrument_fastapi

TRACERESPONSE = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
INCOMING_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{INCOMING_TRACE}-00f067aa0ba902b7-01"


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/orders/{order_id}")
    def order(order_id: str) -> dict[str, str | None]:
        return {"id": order_id, "traceparent": current_traceparent()}

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture
def telemetry(exporter: InMemorySpanExporter) -> Telemetry:
    return configure(service_name="web", span_exporter=exporter)


@pytest.fixture
def client(telemetry: Telemetry) -> TestClient:
    app = _app()
    instrument_fastapi(app)
    return TestClient(app, raise_server_exceptions=False)


def test_the_header_names_the_server_span(
    client: TestClient, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    response = client.get("/orders/42")
    assert response.status_code == 200
    match = TRACERESPONSE.fullmatch(response.headers["traceresponse"])
    assert match is not None
    telemetry.force_flush()
    (server,) = exporter.get_finished_spans()
    assert server.kind == SpanKind.SERVER
    assert server.name == "GET /orders/{order_id}"
    context = server.context
    assert match.groups() == (
        f"{context.trace_id:032x}",
        f"{context.span_id:016x}",
        f"{context.trace_flags:02x}",
    )
    # The handler ran inside the server span.
    assert response.json()["traceparent"].split("-")[1:3] == list(match.groups()[:2])


def test_an_incoming_traceparent_is_the_server_spans_parent(
    client: TestClient, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    response = client.get("/orders/7", headers={"traceparent": INCOMING})
    assert response.headers["traceresponse"].split("-")[1] == INCOMING_TRACE
    telemetry.force_flush()
    (server,) = exporter.get_finished_spans()
    assert server.parent is not None
    assert f"{server.parent.span_id:016x}" == "00f067aa0ba902b7"


def test_an_error_response_carries_the_header_too(
    client: TestClient, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    response = client.get("/boom")
    assert response.status_code == 500
    assert TRACERESPONSE.fullmatch(response.headers["traceresponse"])
    telemetry.force_flush()
    (server,) = exporter.get_finished_spans()
    assert not server.status.is_ok


def test_probes_are_not_traced(
    client: TestClient, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "traceresponse" not in response.headers
    telemetry.force_flush()
    assert exporter.get_finished_spans() == ()


def test_without_a_tracer_provider_the_app_is_left_alone() -> None:
    configure(service_name="web")
    app = _app()
    instrument_fastapi(app)
    response = TestClient(app).get("/orders/1")
    assert response.status_code == 200
    assert "traceresponse" not in response.headers
