"""Each test configures telemetry afresh: no endpoint from the environment, reset afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eventyard.telemetry.testing import reset


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "EVENTYARD_OTLP_ENDPOINT",
        "EVENTYARD_TRACE_SAMPLE_RATIO",
        "EVENTYARD_ENVIRONMENT",
        "EVENTYARD_OTLP_SIGNALS",
    ):
        monkeypatch.delenv(name, raising=False)
    reset()
    yield
    reset()


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    """A local SDK provider (not the global one) exporting synchronously to ``exporter``."""
    made = TracerProvider()
    made.add_span_processor(SimpleSpanProcessor(exporter))
    return made
