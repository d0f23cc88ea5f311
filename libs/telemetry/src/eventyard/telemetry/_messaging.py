"""Produce and consume spans with OpenTelemetry's messaging conventions (Kafka).

``create <topic>`` (PRODUCER) is current while a message is recorded (an outbox row, say), so
its context travels with the message; ``process <topic>`` (CONSUMER) is that span's child when
the message is handled, so one request and everything it caused form one trace.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry.trace import Span, SpanKind, TracerProvider

from eventyard.telemetry._context import context_from_traceparent, tracer

__all__ = ["INSTRUMENTATION", "consumer_span", "producer_span"]

INSTRUMENTATION = "eventyard.telemetry"


@contextmanager
def producer_span(
    *,
    topic: str,
    event_id: str,
    aggregate_id: str,
    tracer_provider: TracerProvider | None = None,
    instrumentation_name: str = INSTRUMENTATION,
) -> Iterator[Span]:
    """A ``create <topic>`` PRODUCER span, current while the message is recorded."""
    with tracer(instrumentation_name, tracer_provider).start_as_current_span(
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
    instrumentation_name: str = INSTRUMENTATION,
) -> Iterator[Span]:
    """A ``process <topic>`` CONSUMER span whose parent is the context in ``headers``.

    ``headers`` are the message's headers as text (``traceparent``, ``tracestate``); without a
    valid ``traceparent`` the span starts a new trace. Exceptions are recorded on the span.
    """
    parent = context_from_traceparent(headers.get("traceparent"), headers.get("tracestate"))
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
    with tracer(instrumentation_name, tracer_provider).start_as_current_span(
        f"process {topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ) as span:
        yield span
