"""Jaeger takes spans over OTLP/HTTP; ``eventyard-stack trace`` draws them from its query API."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
from typer.testing import CliRunner

from eventyard.stack._traces import span_rows, wait_for_trace
from eventyard.stack.cli import app


def _span(
    trace_id: str, span_id: str, name: str, start: int, end: int, **extra: Any
) -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": 2,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
        **extra,
    }


def _resource(service: str, *spans: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeSpans": [{"spans": list(spans)}],
    }


def test_otlp_span_lands_in_jaeger_and_trace_renders_it(
    otlp_endpoint: str, traces_url: str
) -> None:
    trace_id, root, child = secrets.token_hex(16), secrets.token_hex(8), secrets.token_hex(8)
    now = time.time_ns()
    body = {
        "resourceSpans": [
            _resource("it-orders", _span(trace_id, root, "POST /orders", now, now + 40_000_000)),
            _resource(
                "it-customers",
                _span(
                    trace_id,
                    child,
                    "ReserveCredit",
                    now + 5_000_000,
                    now + 25_000_000,
                    parentSpanId=root,
                    status={"code": 2, "message": "insufficient credit"},
                ),
            ),
        ]
    }
    sent = httpx.post(f"{otlp_endpoint}/v1/traces", json=body, timeout=10)
    assert sent.status_code == 200, sent.text

    trace = wait_for_trace(traces_url, trace_id, wait_s=10)
    rows = span_rows(trace)
    assert [(r.depth, r.service, r.name) for r in rows] == [
        (0, "it-orders", "POST /orders"),
        (1, "it-customers", "ReserveCredit"),
    ]
    assert rows[1].error == "insufficient credit"
    assert (rows[1].start_ms, rows[1].duration_ms) == (5.0, 20.0)

    shown = CliRunner().invoke(
        app, ["trace", trace_id], env={"EVENTYARD_TRACES_URL": traces_url, "COLUMNS": "160"}
    )
    assert shown.exit_code == 0, shown.output
    assert f"trace {trace_id}" in shown.stdout
    assert "ReserveCredit  insufficient credit" in shown.stdout
    assert "2 spans, 2 services, 40.0 ms" in shown.stdout
