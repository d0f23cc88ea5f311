"""``configure()``: the OpenTelemetry SDK for one service process, set up once.

With an OTLP endpoint (``EVENTYARD_OTLP_ENDPOINT``, an OTLP/HTTP base URL) the SDK's tracer
provider samples parent-based by ratio and exports in large batches from a background thread;
metrics and logs are exported too when asked (``EVENTYARD_OTLP_SIGNALS``). Without an endpoint no
SDK provider is installed at all: spans are the API's no-op spans and instrumentations are left
off, so tracing costs next to nothing. Logs are JSON on stderr either way.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from importlib.util import find_spec
from typing import TYPE_CHECKING, Final, cast

from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from eventyard.telemetry._logs import configure_logging, json_formatter

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["SIGNALS", "Telemetry", "configure"]

SIGNALS: Final = frozenset({"traces", "metrics", "logs"})
_ENV_ENDPOINT = "EVENTYARD_OTLP_ENDPOINT"
_ENV_RATIO = "EVENTYARD_TRACE_SAMPLE_RATIO"
_ENV_ENVIRONMENT = "EVENTYARD_ENVIRONMENT"
_ENV_SIGNALS = "EVENTYARD_OTLP_SIGNALS"
_SQLALCHEMY_SCOPE = "opentelemetry.instrumentation.sqlalchemy"

# Few, large exports: a queue deep enough for bursts, sent every second in batches of 2,048.
_QUEUE = 16_384
_BATCH = 2_048
_DELAY_MS = 1_000
_METRICS_INTERVAL_MS = 30_000

_log = logging.getLogger("eventyard.telemetry")


@dataclass(eq=False, kw_only=True)
class Telemetry:
    """The providers :func:`configure` installed (None where it installed none)."""

    service_name: str
    resource: Resource
    endpoint: str | None
    tracer_provider: TracerProvider | None
    meter_provider: MeterProvider | None
    logger_provider: LoggerProvider | None
    _closed: bool = field(default=False, init=False, repr=False)

    def instrument_engine(self, engine: Engine | AsyncEngine) -> None:
        """Spans for the statements of ``engine`` (nothing without a tracer provider)."""
        if self.tracer_provider is None:
            return
        # Imported here: it imports SQLAlchemy, which only services with engines need.
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer  # noqa: PLC0415

        sync = cast("Engine", getattr(engine, "sync_engine", engine))
        meter = self.meter_provider or NoOpMeterProvider()
        usage = meter.get_meter(_SQLALCHEMY_SCOPE).create_up_down_counter(
            "db.client.connections.usage", unit="connections"
        )
        tracer = self.tracer_provider.get_tracer(_SQLALCHEMY_SCOPE)
        EngineTracer(tracer, sync, usage)  # type: ignore[no-untyped-call]  # untyped upstream

    def force_flush(self, timeout_ms: int = 30_000) -> bool:
        """Export what is buffered now; False when the timeout passed first."""
        done = True
        if self.tracer_provider is not None:
            done = self.tracer_provider.force_flush(timeout_ms)
        if self.meter_provider is not None:
            done = self.meter_provider.force_flush(timeout_ms) and done
        if self.logger_provider is not None:
            done = self.logger_provider.force_flush(timeout_ms) and done
        return done

    def shutdown(self) -> None:
        """Flush and stop the exporters (once; later calls do nothing)."""
        if self._closed:
            return
        self._closed = True
        if self.tracer_provider is not None:
            self.tracer_provider.shutdown()
        if self.meter_provider is not None:
            self.meter_provider.shutdown()
        if self.logger_provider is not None:
            self.logger_provider.shutdown()


_configured: Telemetry | None = None


def configure(
    *,
    service_name: str,
    service_version: str | None = None,
    environment: str | None = None,
    otlp_endpoint: str | None = None,
    sample_ratio: float | None = None,
    log_level: str = "info",
    signals: Collection[str] | None = None,
    span_exporter: SpanExporter | None = None,
) -> Telemetry:
    """Set up traces, metrics and logs for this process; the first call's handle is returned
    by every later one (the SDK's global providers are set once per process).

    Arguments left out come from the environment: ``EVENTYARD_OTLP_ENDPOINT`` (OTLP/HTTP base
    URL; traces go to ``<base>/v1/traces``, metrics ``/v1/metrics``, logs ``/v1/logs``),
    ``EVENTYARD_TRACE_SAMPLE_RATIO`` (default 1.0; the ratio of new traces kept, children follow
    their parent), ``EVENTYARD_ENVIRONMENT`` (``deployment.environment.name``) and
    ``EVENTYARD_OTLP_SIGNALS`` (comma-separated, of ``traces``, ``metrics``, ``logs``; default
    ``traces``). ``span_exporter`` replaces the OTLP span exporter (an in-memory one in tests).
    """
    global _configured  # noqa: PLW0603 - one configuration per process, by design
    if _configured is not None:
        _log.debug("telemetry already configured for %s", _configured.service_name)
        return _configured
    env: Mapping[str, str] = os.environ
    endpoint = (otlp_endpoint or env.get(_ENV_ENDPOINT) or "").rstrip("/") or None
    wanted = _signals(signals, env.get(_ENV_SIGNALS))
    resource = _resource(service_name, service_version, environment or env.get(_ENV_ENVIRONMENT))
    tracer_provider = _tracer_provider(
        resource,
        exporter=span_exporter,
        endpoint=endpoint,
        wanted=wanted,
        sample_ratio=sample_ratio,
        env_ratio=env.get(_ENV_RATIO),
    )
    meter_provider = _meter_provider(resource, endpoint, wanted)
    logger_provider = _logger_provider(resource, endpoint, wanted)
    handlers = [] if logger_provider is None else [_otlp_log_handler(logger_provider)]
    configure_logging(log_level, extra_handlers=handlers)

    _configured = Telemetry(
        service_name=service_name,
        resource=resource,
        endpoint=endpoint,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
    )
    return _configured


def _resource(service_name: str, service_version: str | None, environment: str | None) -> Resource:
    attributes: dict[str, str] = {"service.name": service_name}
    if service_version:
        attributes["service.version"] = service_version
    if environment:
        attributes["deployment.environment.name"] = environment
    return Resource.create(attributes)


def _tracer_provider(
    resource: Resource,
    *,
    exporter: SpanExporter | None,
    endpoint: str | None,
    wanted: frozenset[str],
    sample_ratio: float | None,
    env_ratio: str | None,
) -> TracerProvider | None:
    """The global tracer provider, installed when spans have somewhere to go (else None)."""
    if exporter is None and endpoint is not None and "traces" in wanted:
        exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")
    if exporter is None:
        return None
    ratio = _ratio(sample_ratio, env_ratio)
    tracer_provider = TracerProvider(
        resource=resource, sampler=ParentBased(TraceIdRatioBased(ratio))
    )
    tracer_provider.add_span_processor(
        BatchSpanProcessor(
            exporter,
            max_queue_size=_QUEUE,
            max_export_batch_size=_BATCH,
            schedule_delay_millis=_DELAY_MS,
        )
    )
    trace.set_tracer_provider(tracer_provider)
    _instrument_httpx(tracer_provider)
    return tracer_provider


def _meter_provider(
    resource: Resource, endpoint: str | None, wanted: frozenset[str]
) -> MeterProvider | None:
    """The global meter provider, installed when metrics are exported (else None)."""
    if endpoint is None or "metrics" not in wanted:
        return None
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"),
        export_interval_millis=_METRICS_INTERVAL_MS,
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    return meter_provider


def _logger_provider(
    resource: Resource, endpoint: str | None, wanted: frozenset[str]
) -> LoggerProvider | None:
    """A logger provider exporting to ``<endpoint>/v1/logs`` when logs are exported (else None)."""
    if endpoint is None or "logs" not in wanted:
        return None
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs"))
    )
    return logger_provider


def _otlp_log_handler(logger_provider: LoggerProvider) -> logging.Handler:
    """A logging handler sending records to ``logger_provider``, formatted as on stderr."""
    with warnings.catch_warnings():  # its successor is not a dependency of ours yet
        warnings.simplefilter("ignore", DeprecationWarning)
        handler = LoggingHandler(logger_provider=logger_provider)
    handler.setFormatter(json_formatter())
    return handler


def _instrument_httpx(tracer_provider: TracerProvider) -> None:
    """Client spans for every httpx client of the process (when httpx is installed)."""
    if find_spec("httpx") is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415

    HTTPXClientInstrumentor().instrument(tracer_provider=tracer_provider)


def _signals(given: Collection[str] | None, env: str | None) -> frozenset[str]:
    if given is None:
        given = [s.strip() for s in (env or "traces").split(",") if s.strip()]
    wanted = frozenset(given)
    if unknown := wanted - SIGNALS:
        raise ValueError(f"unknown telemetry signals {sorted(unknown)}; known: {sorted(SIGNALS)}")
    return wanted


def _ratio(given: float | None, env: str | None) -> float:
    if given is None:
        try:
            given = float(env) if env else 1.0
        except ValueError:
            raise ValueError(f"{_ENV_RATIO} is not a number: {env!r}") from None
    if not 0.0 <= given <= 1.0:
        raise ValueError(f"the trace sample ratio must be within [0, 1], not {given}")
    return given


def _forget() -> None:
    """Shut down and forget the configuration (for :mod:`eventyard.telemetry.testing`)."""
    global _configured  # noqa: PLW0603 - see configure
    if _configured is not None:
        _configured.shutdown()
        _configured = None
