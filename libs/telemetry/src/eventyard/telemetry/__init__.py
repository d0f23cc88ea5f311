"""OpenTelemetry for Eventyard services, and W3C trace context through HTTP, outbox rows, Kafka
headers and change events.

- :func:`configure`: the SDK for one process (traces, metrics, logs; OTLP/HTTP export when an
  endpoint is set, nothing at all otherwise), and JSON logs carrying ``trace_id``/``span_id``.
- :func:`instrument_fastapi`: server spans and a ``traceresponse`` header.
- One propagator and one tracer factory: :func:`tracer`, :func:`current_traceparent`,
  :func:`trace_headers`, :func:`trace_id_of`, :func:`context_from_traceparent`.
- Messaging spans (OpenTelemetry conventions): :func:`producer_span`, :func:`consumer_span`.
- ``eventyard.telemetry.testing``: :func:`~eventyard.telemetry.testing.reset` between tests.
"""

from eventyard.telemetry._configure import Telemetry, configure
from eventyard.telemetry._context import (
    context_from_traceparent,
    current_traceparent,
    trace_headers,
    trace_id_of,
    tracer,
)
from eventyard.telemetry._fastapi import instrument_fastapi
from eventyard.telemetry._logs import add_trace_context
from eventyard.telemetry._messaging import consumer_span, producer_span

__all__ = [
    "Telemetry",
    "add_trace_context",
    "configure",
    "consumer_span",
    "context_from_traceparent",
    "current_traceparent",
    "instrument_fastapi",
    "producer_span",
    "trace_headers",
    "trace_id_of",
    "tracer",
]
