"""configure() exports to the stack's Jaeger over OTLP/HTTP: the trace is found by its id, with
the service's name and the httpx client span configure() instruments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from eventyard.telemetry import configure, current_traceparent, trace_id_of, tracer
from eventyard.telemetry.testing import reset
from tests.support.eventually import eventually


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    reset()
    yield
    reset()


def _trace(traces_url: str, trace_id: str, timeout_s: float = 30) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        response = httpx.get(f"{traces_url}/api/traces/{trace_id}", timeout=5)
        data = response.json().get("data") if response.status_code == 200 else None
        return dict(data[0]) if data else None

    return eventually(
        found, timeout=timeout_s, interval=0.5, description=f"trace {trace_id} in Jaeger"
    )


def test_spans_reach_jaeger_under_the_service_name(
    otlp_endpoint: str, traces_url: str, unique_name: Callable[[str], str]
) -> None:
    service = unique_name("svc")
    telemetry = configure(service_name=service, service_version="9.9", otlp_endpoint=otlp_endpoint)
    with tracer("test").start_as_current_span("place order"):
        traceparent = current_traceparent()
        assert httpx.get(f"{traces_url}/api/services", timeout=5).status_code == 200
    telemetry.shutdown()
    trace_id = trace_id_of(traceparent)
    assert trace_id is not None

    found = _trace(traces_url, trace_id)
    services = {p["serviceName"] for p in found["processes"].values()}
    assert services == {service}
    spans = {s["operationName"]: s for s in found["spans"]}
    assert set(spans) == {"place order", "GET"}
    client = spans["GET"]
    assert {"key": "span.kind", "type": "string", "value": "client"} in client["tags"]
    assert client["references"][0]["spanID"] == spans["place order"]["spanID"]
