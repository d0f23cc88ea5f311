"""Outbox.record (the pure part of publish) and the in-memory Outbox fake."""

from __future__ import annotations

import json
import uuid

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.orm import Session

from eventyard.outbox import (
    BytesSerializer,
    ConfigError,
    Event,
    InvalidEvent,
    Outbox,
    PayloadTooLarge,
    SerializationError,
    TopicRouter,
)
from eventyard.outbox.testing import InMemoryOutbox


def order_event(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "aggregate_type": "order",
        "aggregate_id": "o-1",
        "type": "OrderPlaced",
        "payload": {"total": 12},
    }
    fields.update(overrides)
    return Event(**fields)  # type: ignore[arg-type]


def test_record_serializes_at_publish_time_with_content_type_in_headers() -> None:
    event = order_event(headers={"tenant": "acme"})
    record = Outbox().record(event)
    assert record.id == event.id
    assert json.loads(record.payload) == {"total": 12}
    assert record.content_type == "application/json"
    assert record.headers == {"tenant": "acme", "content-type": "application/json"}
    assert record.traceparent is None


def test_per_type_serializers_override_the_default() -> None:
    outbox = Outbox(serializers={"Blob": BytesSerializer(content_type="image/png")})
    record = outbox.record(order_event(type="Blob", payload=b"\x89PNG"))
    assert (record.payload, record.content_type) == (b"\x89PNG", "image/png")


def test_a_payload_over_the_limit_is_refused_naming_event_size_and_limit() -> None:
    outbox = Outbox(max_message_bytes=10_000)
    event = order_event(payload={"blob": "x" * 20_000})
    with pytest.raises(PayloadTooLarge) as caught:
        outbox.record(event)
    assert caught.value.event_id == str(event.id)
    assert caught.value.size > 20_000
    assert caught.value.limit == 10_000
    assert "max_message_bytes" in str(caught.value)
    outbox.record(order_event(payload={"blob": "x" * 9_000}))  # under the limit: fine


def test_headers_count_towards_the_limit() -> None:
    outbox = Outbox(max_message_bytes=2_000)
    with pytest.raises(PayloadTooLarge):
        outbox.record(order_event(payload={}, headers={"big": "y" * 2_000}))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aggregate_id": ""}, "aggregate_id"),
        ({"type": ""}, "type"),
        ({"aggregate_type": "no spaces"}, "topic"),
        ({"headers": {"n": 1}}, "header"),
    ],
)
def test_invalid_events_are_refused_before_anything_is_written(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidEvent, match=message):
        Outbox().record(order_event(**overrides))


def test_a_serializer_failure_names_the_event() -> None:
    event = order_event(payload={"when": object()})
    with pytest.raises(SerializationError, match=str(event.id)):
        Outbox().record(event)


def test_a_tiny_limit_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError):
        Outbox(max_message_bytes=100)


def test_publish_stores_the_context_of_a_create_span_child_of_the_current_span() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    outbox = Outbox(router=TopicRouter(template="shop.{aggregatetype}"), tracer_provider=provider)
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("POST /orders") as request:
        (record,) = outbox.records([order_event()])
    create, parent = exporter.get_finished_spans()
    assert parent.context.span_id == request.get_span_context().span_id
    assert create.name == "create shop.order"
    assert create.kind == SpanKind.PRODUCER
    assert create.parent is not None
    assert create.parent.span_id == parent.context.span_id
    assert create.attributes is not None
    assert create.attributes["messaging.destination.name"] == "shop.order"
    assert create.attributes["messaging.message.id"] == str(record.id)
    trace_id = f"{create.context.trace_id:032x}"
    span_id = f"{create.context.span_id:016x}"
    assert record.traceparent is not None
    assert record.traceparent.startswith(f"00-{trace_id}-{span_id}-")
    assert record.headers["traceparent"] == record.traceparent


def test_the_fake_keeps_events_only_when_the_session_commits() -> None:
    fake = InMemoryOutbox()
    engine = sa.create_engine("sqlite://")
    with Session(engine) as session:
        fake.publish(session, order_event(payload={"n": 1}))
        assert fake.published == []
        session.commit()
        fake.publish(session, order_event(payload={"n": 2}))
        session.rollback()
        fake.publish(session, order_event(payload={"n": 3}))
        session.commit()
    assert [e["payload"]["n"] for e in fake.events()] == [1, 3]
    assert fake.events("Nothing") == []


def publish_then_fail(session: Session, fake: InMemoryOutbox) -> None:
    with session.begin():
        fake.publish(session, order_event(aggregate_id="c"))
        raise RuntimeError("business rule failed")


def test_the_fake_works_with_a_session_that_has_no_database() -> None:
    fake = InMemoryOutbox()
    with Session() as session:
        with session.begin():
            fake.publish_all(
                session, [order_event(aggregate_id="a"), order_event(aggregate_id="b")]
            )
        with pytest.raises(RuntimeError):
            publish_then_fail(session, fake)
    assert [e["aggregate_id"] for e in fake.events()] == ["a", "b"]
    assert all(uuid.UUID(e["id"]) for e in fake.events())


def test_the_fake_refuses_what_the_real_outbox_refuses() -> None:
    fake = InMemoryOutbox(outbox=Outbox(max_message_bytes=2_000))
    with Session() as session, pytest.raises(PayloadTooLarge):
        fake.publish(session, order_event(payload="x" * 5_000))
