"""Server spans for FastAPI applications, and the W3C ``traceresponse`` header on responses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.instrumentation.propagators import (
    TraceResponsePropagator,
    set_global_response_propagator,
)
from opentelemetry.trace import ProxyTracerProvider, TracerProvider

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["UNTRACED_PATHS", "instrument_fastapi"]

UNTRACED_PATHS = ("/healthz", "/readyz")
"""Probes: answered many times a minute, traced never."""


def instrument_fastapi(app: FastAPI, *, tracer_provider: TracerProvider | None = None) -> None:
    """Trace ``app``'s requests with the official instrumentation: one SERVER span per request
    (probes excepted), its context returned in a ``traceresponse`` header
    (``00-<trace id>-<span id>-<flags>``) so a caller can find the trace.

    Call it after :func:`configure`: without a tracer provider (no endpoint configured) the app is
    left as it is.
    """
    provider = tracer_provider or trace.get_tracer_provider()
    if isinstance(provider, ProxyTracerProvider):
        return
    # Imported here: it imports FastAPI, which only HTTP services need.
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: PLC0415

    set_global_response_propagator(TraceResponsePropagator())  # type: ignore[no-untyped-call]
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=",".join(f"{path}$" for path in UNTRACED_PATHS),
        exclude_spans=["receive", "send"],  # one span per request, not three
    )
