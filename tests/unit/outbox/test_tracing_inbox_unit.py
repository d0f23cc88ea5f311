"""Consumer spans continue the publisher's trace; inbox messages and dead-letter headers."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Message
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from eventyard.kafka import Retry
from eventyard.outbox import (
    ConfigError,
    InboundMessage,
    InboxConfig,
    consumer_span,
    dead_letter_headers,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_the_consumer_span_is_a_child_of_the_traceparent_header(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    headers = {"traceparent": f"00-{TRACE_ID}-{PARENT}-01", "tracestate": "vendor=1"}
    with consumer_span(
        headers,
        topic="outbox.event.order",
        partition=2,
        offset=41,
        key="o-1",
        message_id="m-1",
        group="billing",
        tracer_provider=provider,
    ):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.name == "process outbox.event.order"
    assert span.kind == SpanKind.CONSUMER
    assert f"{span.context.trace_id:032x}" == TRACE_ID
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == PARENT
    assert span.attributes is not None
    assert span.attributes["messaging.system"] == "kafka"
    assert span.attributes["messaging.operation.type"] == "process"
    assert span.attributes["messaging.destination.partition.id"] == "2"
    assert span.attributes["messaging.kafka.offset"] == 41
    assert span.attributes["messaging.consumer.group.name"] == "billing"


def test_without_a_traceparent_the_consumer_span_starts_a_trace(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    with consumer_span({"traceparent": None}, topic="t", tracer_provider=provider):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.parent is None


def test_inbound_message_reads_the_envelope_headers() -> None:
    message = Message(
        topic="outbox.event.order",
        partition=1,
        offset=7,
        key=b"o-1",
        value=b'{"n": 3}',
        headers=[("id", b"e-1"), ("eventType", b"Placed"), ("traceparent", None)],
    )
    inbound = InboundMessage.from_kafka(message)
    assert inbound.id == "e-1"
    assert (inbound.topic, inbound.partition, inbound.offset) == ("outbox.event.order", 1, 7)
    assert inbound.key == "o-1"
    assert inbound.event_type == "Placed"
    assert inbound.headers["traceparent"] is None
    assert inbound.json() == {"n": 3}


def test_without_an_id_header_the_position_is_the_id() -> None:
    message = Message(topic="t", partition=0, offset=12, value=b"x")
    assert InboundMessage.from_kafka(message).id == "t/0/12"


def test_dead_letter_headers_keep_the_original_ones_and_say_what_failed() -> None:
    inbound = InboundMessage(
        id="e-1",
        topic="orders",
        partition=3,
        offset=99,
        key="o-1",
        value=b"{}",
        headers={"id": "e-1", "traceparent": None},
    )
    try:
        json.loads("{broken")
    except ValueError as error:
        headers = dict(dead_letter_headers(inbound, error, attempts=5, consumer="billing"))
    assert headers["id"] == b"e-1"
    assert "traceparent" not in headers  # null headers are not copied
    assert headers["eventyard.dlt.exception.type"] == b"json.decoder.JSONDecodeError"
    assert headers["eventyard.dlt.attempts"] == b"5"
    assert headers["eventyard.dlt.original.topic"] == b"orders"
    assert headers["eventyard.dlt.original.partition"] == b"3"
    assert headers["eventyard.dlt.original.offset"] == b"99"
    assert headers["eventyard.dlt.consumer"] == b"billing"
    assert b"Expecting property name" in headers["eventyard.dlt.exception"]  # type: ignore[operator]


def test_inbox_config_is_checked() -> None:
    with pytest.raises(ConfigError):
        InboxConfig(name="c", topics=())
    with pytest.raises(ConfigError, match="attempts"), pytest.deprecated_call():
        InboxConfig(name="c", topics=("t",), max_attempts=0)


def test_inbox_retries_five_times_with_doubling_waits_by_default() -> None:
    retry = InboxConfig(name="c", topics=("t",)).retry
    assert retry.attempts == 5
    assert [retry.delay(n) for n in range(1, 9)] == pytest.approx(
        [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0]
    )


def test_the_old_retry_settings_still_work_and_warn() -> None:
    with pytest.deprecated_call(match=r"retry=Retry\(attempts=\.\.\., wait_initial=\.\.\.\)"):
        config = InboxConfig(
            name="c",
            topics=("t",),
            retry=Retry(attempts=9, wait_max=7.0, wait_jitter=0.0),
            max_attempts=3,
            retry_backoff=0.05,
        )
    assert config.retry == Retry(attempts=3, wait_initial=0.05, wait_max=7.0, wait_jitter=0.0)
    with pytest.deprecated_call():
        capped = InboxConfig(name="c", topics=("t",), retry_backoff_max=1.0)
    assert capped.retry.wait_max == 1.0
    assert capped.retry.attempts == 5
