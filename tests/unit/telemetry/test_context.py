"""The propagator and the messaging spans: parents, trace ids and conventions."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from eventyard.telemetry import (
    consumer_span,
    context_from_traceparent,
    current_traceparent,
    producer_span,
    trace_headers,
    trace_id_of,
    tracer,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"


@pytest.mark.parametrize(
    ("traceparent", "expected"),
    [
        (TRACEPARENT, TRACE),
        (None, None),
        ("", None),
        ("00-abc-def-01", None),
        ("garbage", None),
    ],
)
def test_trace_id_of(traceparent: str | None, expected: str | None) -> None:
    assert trace_id_of(traceparent) == expected


def test_no_span_no_traceparent() -> None:
    assert current_traceparent() is None
    assert trace_headers() == (None, None)


def test_the_current_span_is_written_as_w3c(provider: TracerProvider) -> None:
    with tracer("test", provider).start_as_current_span("work") as span:
        context = span.get_span_context()
        expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
        assert current_traceparent() == expected
        assert trace_headers() == (expected, None)


def test_a_span_started_in_the_context_of_a_traceparent_is_its_child(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    parent = context_from_traceparent(TRACEPARENT, "vendor=x")
    with tracer("test", provider).start_as_current_span("child", context=parent):
        assert trace_headers()[1] == "vendor=x"
    (span,) = exporter.get_finished_spans()
    assert span.parent is not None
    assert (format(span.parent.trace_id, "032x"), format(span.parent.span_id, "016x")) == (
        TRACE,
        PARENT,
    )
    assert span.parent.is_remote


@pytest.mark.parametrize("traceparent", [None, "", "00-zz-yy-01"])
def test_without_a_valid_traceparent_a_new_trace_starts(
    traceparent: str | None, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    test_tracer = tracer("test", provider)
    with (
        test_tracer.start_as_current_span("outer"),  # ignored: the context given is empty
        test_tracer.start_as_current_span("root", context=context_from_traceparent(traceparent)),
    ):
        pass
    root = next(s for s in exporter.get_finished_spans() if s.name == "root")
    assert root.parent is None


def test_the_global_tracer_follows_the_provider_set_later() -> None:
    before = tracer("late")
    assert tracer("late") is before  # one proxy per name
    with before.start_as_current_span("noop") as span:
        assert not span.get_span_context().is_valid
    assert trace.get_tracer_provider().__class__.__name__ == "ProxyTracerProvider"


def test_the_consumer_span_is_the_child_of_the_producer_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with producer_span(
        topic="shop.orders", event_id="e1", aggregate_id="a1", tracer_provider=provider
    ):
        traceparent, _ = trace_headers()
    with consumer_span(
        {"traceparent": traceparent, "tracestate": None, "other": "x"},
        topic="shop.orders",
        partition=3,
        offset=42,
        key="a1",
        message_id="e1",
        group="g",
        tracer_provider=provider,
        instrumentation_name="eventyard.test",
    ):
        pass
    produced, consumed = exporter.get_finished_spans()
    assert (produced.name, produced.kind) == ("create shop.orders", SpanKind.PRODUCER)
    assert (consumed.name, consumed.kind) == ("process shop.orders", SpanKind.CONSUMER)
    assert consumed.parent is not None
    assert consumed.parent.span_id == produced.context.span_id
    assert consumed.context.trace_id == produced.context.trace_id
    assert dict(produced.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.operation.type": "create",
        "messaging.operation.name": "create",
        "messaging.destination.name": "shop.orders",
        "messaging.message.id": "e1",
        "messaging.kafka.message.key": "a1",
    }
    assert dict(consumed.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": "shop.orders",
        "messaging.destination.partition.id": "3",
        "messaging.kafka.offset": 42,
        "messaging.kafka.message.key": "a1",
        "messaging.message.id": "e1",
        "messaging.consumer.group.name": "g",
    }
    assert consumed.instrumentation_scope is not None
    assert consumed.instrumentation_scope.name == "eventyard.test"
