"""configure(): what it installs, from arguments or the environment, and what it leaves alone."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import ProxyTracerProvider

from eventyard.telemetry import configure, context_from_traceparent, current_traceparent, tracer


def test_without_an_endpoint_no_sdk_provider_is_installed() -> None:
    telemetry = configure(service_name="quiet")
    assert telemetry.tracer_provider is None
    assert telemetry.meter_provider is None
    assert telemetry.logger_provider is None
    assert isinstance(trace.get_tracer_provider(), ProxyTracerProvider)
    with tracer("test").start_as_current_span("nothing") as span:
        assert not span.is_recording()
        assert current_traceparent() is None
    telemetry.shutdown()


def test_an_endpoint_installs_the_sdk_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_OTLP_ENDPOINT", "http://127.0.0.1:9/")
    telemetry = configure(service_name="loud")
    assert telemetry.endpoint == "http://127.0.0.1:9"
    assert isinstance(trace.get_tracer_provider(), TracerProvider)
    assert trace.get_tracer_provider() is telemetry.tracer_provider
    assert telemetry.meter_provider is None  # metrics and logs only when asked


def test_the_resource_names_the_service(
    monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter
) -> None:
    monkeypatch.setenv("EVENTYARD_ENVIRONMENT", "staging")
    telemetry = configure(service_name="orders", service_version="1.2.3", span_exporter=exporter)
    with tracer("test").start_as_current_span("one"):
        pass
    telemetry.force_flush()
    (span,) = exporter.get_finished_spans()
    attributes = span.resource.attributes
    assert attributes["service.name"] == "orders"
    assert attributes["service.version"] == "1.2.3"
    assert attributes["deployment.environment.name"] == "staging"


def test_the_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_ENVIRONMENT", "staging")
    telemetry = configure(
        service_name="orders", environment="prod", span_exporter=InMemorySpanExporter()
    )
    assert telemetry.resource.attributes["deployment.environment.name"] == "prod"


@pytest.mark.parametrize(("ratio", "kept"), [("0", 0), ("1", 20), ("1.0", 20)])
def test_the_sample_ratio_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, exporter: InMemorySpanExporter, ratio: str, kept: int
) -> None:
    monkeypatch.setenv("EVENTYARD_TRACE_SAMPLE_RATIO", ratio)
    telemetry = configure(service_name="s", span_exporter=exporter)
    test_tracer = tracer("test")
    for number in range(20):
        with test_tracer.start_as_current_span(f"span {number}"):
            pass
    telemetry.force_flush()
    assert len(exporter.get_finished_spans()) == kept


def test_ratio_zero_exports_nothing_but_children_follow_a_sampled_parent(
    exporter: InMemorySpanExporter,
) -> None:
    telemetry = configure(service_name="s", sample_ratio=0.0, span_exporter=exporter)
    test_tracer = tracer("test")
    with test_tracer.start_as_current_span("root") as root:
        assert not root.is_recording()
        assert root.get_span_context().is_valid  # still a context to pass on
    sampled = context_from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    with test_tracer.start_as_current_span("child of a sampled parent", context=sampled):
        pass
    telemetry.force_flush()
    assert [s.name for s in exporter.get_finished_spans()] == ["child of a sampled parent"]


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_a_ratio_outside_zero_to_one_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError, match="within"):
        configure(service_name="s", sample_ratio=ratio, span_exporter=InMemorySpanExporter())


def test_a_ratio_that_is_not_a_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_TRACE_SAMPLE_RATIO", "half")
    with pytest.raises(ValueError, match="EVENTYARD_TRACE_SAMPLE_RATIO"):
        configure(service_name="s", span_exporter=InMemorySpanExporter())


def test_unknown_signals_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_OTLP_SIGNALS", "traces,profiles")
    with pytest.raises(ValueError, match="profiles"):
        configure(service_name="s")


def test_metrics_and_logs_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_OTLP_ENDPOINT", "http://127.0.0.1:9")
    telemetry = configure(service_name="s", signals=["metrics", "logs"])
    assert telemetry.tracer_provider is None
    assert telemetry.meter_provider is not None
    assert telemetry.logger_provider is not None


def test_a_second_configure_returns_the_first_handle(exporter: InMemorySpanExporter) -> None:
    first = configure(service_name="first", span_exporter=exporter)
    second = configure(service_name="second", sample_ratio=0.0)
    assert second is first
    assert first.resource.attributes["service.name"] == "first"


def test_shutdown_flushes_and_may_be_called_twice(exporter: InMemorySpanExporter) -> None:
    telemetry = configure(service_name="s", span_exporter=exporter)
    with tracer("test").start_as_current_span("buffered"):
        pass
    telemetry.shutdown()
    assert [s.name for s in exporter.get_finished_spans()] == ["buffered"]
    telemetry.shutdown()


def test_engines_get_statement_spans(exporter: InMemorySpanExporter) -> None:
    telemetry = configure(service_name="s", span_exporter=exporter)
    engine = sa.create_engine("sqlite://")
    telemetry.instrument_engine(engine)
    assert len(engine.dispatch.before_cursor_execute) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    telemetry.force_flush()
    assert [s.name for s in exporter.get_finished_spans()] == ["SELECT"]
    engine.dispose()


def test_without_a_provider_engines_are_left_alone() -> None:
    telemetry = configure(service_name="s")
    engine = sa.create_engine("sqlite://")
    telemetry.instrument_engine(engine)
    assert len(engine.dispatch.before_cursor_execute) == 0
    engine.dispose()
