"""W3C trace context: the one propagator and the one tracer factory of Eventyard.

Every library and service reads and writes ``traceparent``/``tracestate`` through these, so a
context stored in a row, an outbox record, a Kafka header or an HTTP header means the same thing.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Tracer, TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "PROPAGATOR",
    "context_from_traceparent",
    "current_traceparent",
    "trace_headers",
    "trace_id_of",
    "tracer",
]

PROPAGATOR = TraceContextTextMapPropagator()

_GLOBAL_TRACERS: dict[str, Tracer] = {}
"""Tracers of the global provider by instrumentation name: proxies until a provider is set."""


def tracer(instrumentation_name: str, tracer_provider: TracerProvider | None = None) -> Tracer:
    """The tracer of ``instrumentation_name``: from ``tracer_provider``, else the global one."""
    if tracer_provider is not None:
        return trace.get_tracer(instrumentation_name, tracer_provider=tracer_provider)
    found = _GLOBAL_TRACERS.get(instrumentation_name)
    if found is None:
        found = _GLOBAL_TRACERS[instrumentation_name] = trace.get_tracer(instrumentation_name)
    return found


def trace_headers() -> tuple[str | None, str | None]:
    """``traceparent`` and ``tracestate`` of the current span (None when there is no valid span)."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate") or None


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span (None without a valid span)."""
    return trace_headers()[0]


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id (32 hex digits) in a ``traceparent``; None when there is none."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    return parts[1] if len(parts) >= 4 and len(parts[1]) == 32 else None


def context_from_traceparent(traceparent: str | None, tracestate: str | None = None) -> Context:
    """A context whose current span is the remote one in ``traceparent``.

    A span started in it is that span's child. Without a valid ``traceparent`` the context is
    empty, and a span started in it begins a new trace.
    """
    if not traceparent:
        return Context()
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return PROPAGATOR.extract(carrier, context=Context())
