"""Logs: JSON lines on stderr, structlog's and the standard library's, with the span's ids."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eventyard.telemetry import configure, tracer


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]


def test_structlog_lines_carry_the_current_span(
    capsys: pytest.CaptureFixture[str], exporter: InMemorySpanExporter
) -> None:
    configure(service_name="s", span_exporter=exporter)
    log = structlog.get_logger("eventyard.test")
    with tracer("test").start_as_current_span("work") as span:
        log.info("order placed", order_id="o-1")
    log.info("outside")
    inside, outside = _lines(capsys)
    context = span.get_span_context()
    assert inside["event"] == "order placed"
    assert inside["order_id"] == "o-1"
    assert inside["level"] == "info"
    assert inside["logger"] == "eventyard.test"
    assert inside["trace_id"] == f"{context.trace_id:032x}"
    assert inside["span_id"] == f"{context.span_id:016x}"
    assert "timestamp" in inside
    assert "trace_id" not in outside


def test_standard_logging_is_rendered_the_same_way(
    capsys: pytest.CaptureFixture[str], exporter: InMemorySpanExporter
) -> None:
    configure(service_name="s", span_exporter=exporter)
    with tracer("test").start_as_current_span("work") as span:
        logging.getLogger("uvicorn.error").warning("port %d busy", 8000)
    (line,) = _lines(capsys)
    assert line["event"] == "port 8000 busy"
    assert line["level"] == "warning"
    assert line["logger"] == "uvicorn.error"
    assert line["trace_id"] == f"{span.get_span_context().trace_id:032x}"


def test_the_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    configure(service_name="s", log_level="warning")
    structlog.get_logger("eventyard.test").info("hidden")
    logging.getLogger("other").info("hidden too")
    structlog.get_logger("eventyard.test").error("shown")
    assert [line["event"] for line in _lines(capsys)] == ["shown"]


def test_exceptions_are_rendered(capsys: pytest.CaptureFixture[str]) -> None:
    configure(service_name="s")
    try:
        raise ValueError("bad input")
    except ValueError:
        structlog.get_logger("eventyard.test").exception("failed")
    (line,) = _lines(capsys)
    assert "ValueError: bad input" in line["exception"]


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="loud"):
        configure(service_name="s", log_level="loud")


def test_a_servers_own_logging_setup_is_routed_through_the_json_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = logging.getLogger("uvicorn")  # as uvicorn's default logging config leaves it
    server.addHandler(logging.StreamHandler())
    server.propagate = False
    configure(service_name="s")
    logging.getLogger("uvicorn.error").warning("started")
    (line,) = _lines(capsys)
    assert line["event"] == "started"
    assert line["logger"] == "uvicorn.error"
