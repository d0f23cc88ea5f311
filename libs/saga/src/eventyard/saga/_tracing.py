"""One trace per saga: a ``saga <name>`` span when it starts, a span per step and compensation.

The saga span's W3C context is stored with the instance (``traceparent``). Every later span of
the saga (``saga.step <step>``, ``saga.compensate <step>``, ``saga.timeout <step>``,
``saga.<status>``) is its child, whichever orchestrator process creates it, and links to the
span that caused it (the consumer span of the reply, for example). A command is published
inside its step's span, so the participant's consumer span, its reply, and the orchestrator's
handling of the reply all belong to the same trace.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
    TracerProvider,
)

from eventyard.telemetry import context_from_traceparent, tracer

__all__ = ["INSTRUMENTATION", "saga_child_span", "saga_span"]

INSTRUMENTATION: Final = "eventyard.saga"
"""The instrumentation scope of the saga's spans."""


@contextmanager
def saga_span(
    *,
    saga_type: str,
    version: int,
    saga_id: str,
    tracer_provider: TracerProvider | None = None,
) -> Iterator[Span]:
    """The ``saga <type>`` span: a child of the current span (one request, one trace).

    Without a tracing SDK (or when the span is not recorded and has no valid context), the saga
    still gets a trace id of its own, unsampled, so its log lines and messages correlate.
    """
    with tracer(INSTRUMENTATION, tracer_provider).start_as_current_span(
        f"saga {saga_type}",
        kind=SpanKind.INTERNAL,
        attributes={
            "saga.id": saga_id,
            "saga.type": saga_type,
            "saga.version": version,
        },
    ) as span:
        if span.get_span_context().is_valid:
            yield span
            return
        rng = random.SystemRandom()
        synthetic = NonRecordingSpan(
            SpanContext(
                trace_id=rng.getrandbits(128) or 1,
                span_id=rng.getrandbits(64) or 1,
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.DEFAULT),
            )
        )
        with trace.use_span(synthetic):
            yield synthetic


@contextmanager
def saga_child_span(
    name: str,
    *,
    traceparent: str | None,
    attributes: Mapping[str, str | int],
    tracer_provider: TracerProvider | None = None,
) -> Iterator[Span]:
    """A span whose parent is the saga's span (from ``traceparent``), linked to the current one.

    No link when the current span is that parent (the saga's first step, run as it starts):
    a link to one's own parent makes trace backends show the span as a second root.
    """
    current = trace.get_current_span().get_span_context()
    parent = context_from_traceparent(traceparent) if traceparent else otel_context.get_current()
    parent_span = trace.get_current_span(parent).get_span_context()
    linked = current.is_valid and current.span_id != parent_span.span_id
    links = [Link(current)] if linked else []
    with tracer(INSTRUMENTATION, tracer_provider).start_as_current_span(
        name,
        context=parent,
        kind=SpanKind.INTERNAL,
        attributes=dict(attributes),
        links=links,
    ) as span:
        yield span
