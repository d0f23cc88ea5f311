"""A saga's step span is the child of the saga's span; it links to the span that caused it,
except when that span is the parent itself (the first step, run as the saga starts)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eventyard.saga._tracing import saga_child_span, saga_span
from eventyard.telemetry import current_traceparent, tracer


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_the_first_step_has_the_saga_as_parent_and_no_link_to_it() -> None:
    provider, exporter = _provider()
    with saga_span(saga_type="order", version=1, saga_id="s-1", tracer_provider=provider) as saga:
        traceparent = current_traceparent()
        with saga_child_span(
            "saga.step a", traceparent=traceparent, attributes={}, tracer_provider=provider
        ):
            pass
    step = next(s for s in exporter.get_finished_spans() if s.name == "saga.step a")
    assert step.parent is not None
    assert step.parent.span_id == saga.get_span_context().span_id
    assert list(step.links) == []


def test_a_later_step_links_to_the_span_that_caused_it() -> None:
    provider, exporter = _provider()
    with saga_span(saga_type="order", version=1, saga_id="s-2", tracer_provider=provider) as saga:
        traceparent = current_traceparent()
    with (
        tracer("test", provider).start_as_current_span("process replies") as reply,
        saga_child_span(
            "saga.step b", traceparent=traceparent, attributes={}, tracer_provider=provider
        ),
    ):
        pass
    step = next(s for s in exporter.get_finished_spans() if s.name == "saga.step b")
    assert step.parent is not None
    assert step.parent.span_id == saga.get_span_context().span_id
    assert [link.context.span_id for link in step.links] == [reply.get_span_context().span_id]
