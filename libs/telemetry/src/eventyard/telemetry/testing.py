"""Helpers for tests of code that uses :func:`eventyard.telemetry.configure`.

The SDK's global providers can be set once per process; :func:`reset` undoes what
:func:`~eventyard.telemetry.configure` did, so each test may configure afresh (with an
``InMemorySpanExporter``, say)::

    exporter = InMemorySpanExporter()
    telemetry = configure(service_name="test", span_exporter=exporter)
    ...
    telemetry.force_flush()
    spans = exporter.get_finished_spans()
    reset()
"""

from __future__ import annotations

import logging
from importlib.util import find_spec

import structlog
from opentelemetry import metrics, trace
from opentelemetry.util._once import Once

from eventyard.telemetry import _context
from eventyard.telemetry._configure import _forget
from eventyard.telemetry._logs import _HANDLER_MARK

__all__ = ["reset"]


def reset() -> None:
    """Shut down the configured telemetry and clear the process-wide state it set: the global
    tracer and meter providers, the httpx instrumentation, structlog's configuration
    and the root logging handlers."""
    _forget()
    trace._TRACER_PROVIDER = None  # the SDK offers no public way back
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    metrics._internal._METER_PROVIDER = None
    metrics._internal._METER_PROVIDER_SET_ONCE = Once()
    metrics._internal._PROXY_METER_PROVIDER = metrics._internal._ProxyMeterProvider()
    _context._GLOBAL_TRACERS.clear()  # proxies bound to the old provider
    if find_spec("httpx") is not None:
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415

        instrumentor = HTTPXClientInstrumentor()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.WARNING)
