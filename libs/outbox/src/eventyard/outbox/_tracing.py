"""W3C trace context: from the publishing span into the row, from Kafka headers to a consumer span.

Spans follow OpenTelemetry's messaging conventions: ``create <topic>`` (PRODUCER) when an event
is published into the outbox, ``process <topic>`` (CONSUMER) when a consumer handles it, the
consumer span a child of the create span, so one request and what it caused form one trace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "consumer_span",
    "producer_span",
    "trace_headers",
]

_PROPAGATOR = TraceContextTextMapPropagator()
_INSTRUMENTATION = "eventyard.outbox"


_GLOBAL = trace.get_tracer(_INSTRUMENTATION)
"""The global provider's tracer: a proxy until an application sets a provider, then that one's."""


def _tracer(provider: TracerProvider | None) -> Tracer:
    if provider is None:
        return _GLOBAL
    return trace.get_tracer(_INSTRUMENTATION, tracer_provider=provider)


def trace_headers() -> tuple[str | None, str | None]:
    """``traceparent`` and ``tracestate`` of the current span (None when there is no valid span)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate") or None


@contextmanager
def producer_span(
    *,
    topic: str,
    event_id: str,
    aggregate_id: str,
    tracer_provider: TracerProvider | None = None,
) -> Iterator[Span]:
    """A ``create <topic>`` PRODUCER span, current while the event's row is written."""
    with _tracer(tracer_provider).start_as_current_span(
        f"create {topic}",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "create",
            "messaging.operation.name": "create",
            "messaging.destination.name": topic,
            "messaging.message.id": event_id,
            "messaging.kafka.message.key": aggregate_id,
        },
    ) as span:
        yield span


@contextmanager
def consumer_span(
    headers: Mapping[str, str | None],
    *,
    topic: str,
    partition: int | None = None,
    offset: int | None = None,
    key: str | None = None,
    message_id: str | None = None,
    group: str | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Iterator[Span]:
    """A ``process <topic>`` CONSUMER span whose parent is the context in ``headers``.

    ``headers`` are the message's headers as text (``traceparent``, ``tracestate``); without a
    valid ``traceparent`` the span starts a new trace. Exceptions are recorded on the span.
    """
    carrier = {k: v for k, v in headers.items() if k in {"traceparent", "tracestate"} and v}
    parent = _PROPAGATOR.extract(carrier)
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": topic,
    }
    if partition is not None:
        attributes["messaging.destination.partition.id"] = str(partition)
    if offset is not None:
        attributes["messaging.kafka.offset"] = offset
    if key is not None:
        attributes["messaging.kafka.message.key"] = key
    if message_id is not None:
        attributes["messaging.message.id"] = message_id
    if group is not None:
        attributes["messaging.consumer.group.name"] = group
    with _tracer(tracer_provider).start_as_current_span(
        f"process {topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ) as span:
        yield span
