"""The inbox consumer: exactly-once effects, offsets after the commit, poison messages, traces."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.orm import Session

from eventyard.kafka import Retry, read_dead_letter
from eventyard.outbox import (
    Event,
    InboundMessage,
    InboxConfig,
    InboxConsumer,
    InboxStats,
    Outbox,
    RejectMessage,
    RetryLater,
    TopicRouter,
)
from tests.support.eventually import eventually

Consume = Callable[..., list[Any]]
Handler = Callable[[Session, InboundMessage], None]


@pytest.fixture
def effects(outbox_db: Any) -> Any:
    with outbox_db.engine.begin() as conn:
        conn.execute(
            sa.text("CREATE TABLE effects (event_id text, aggregate text, n int, at bigserial)")
        )
    return outbox_db


def apply(session: Session, message: InboundMessage) -> None:
    session.execute(
        sa.text("INSERT INTO effects (event_id, aggregate, n) VALUES (:id, :agg, :n)"),
        {"id": message.id, "agg": message.key, "n": message.json()["n"]},
    )


def publish(outbox_db: Any, router: TopicRouter, pairs: list[tuple[str, int]], **kw: Any) -> None:
    outbox = Outbox(table=outbox_db.table, router=router, **kw)
    with Session(outbox_db.engine) as session, session.begin():
        outbox.publish_all(
            session,
            [
                Event(aggregate_type="order", aggregate_id=a, type="Placed", payload={"n": n})
                for a, n in pairs
            ],
        )


ConsumerFactory = Callable[..., InboxConsumer]


@pytest.fixture
def inbox_consumer(
    kafka_bootstrap: str, effects: Any, router: TopicRouter
) -> Iterator[ConsumerFactory]:
    made: list[InboxConsumer] = []

    def make(
        *,
        handler: Handler = apply,
        group: str | None = None,
        tracer_provider: TracerProvider | None = None,
        attempts: int = 5,
        **config: Any,
    ) -> InboxConsumer:
        settings: dict[str, Any] = {
            "name": "billing",
            "topics": (router.topic("order"),),
            "retry": Retry(attempts=attempts, wait_initial=0.05, wait_max=10.0, wait_jitter=0.0),
        }
        settings.update(config)
        consumer = InboxConsumer(
            kafka={
                "bootstrap.servers": kafka_bootstrap,
                "group.id": group or f"billing-{uuid.uuid4().hex[:8]}",
                "auto.commit.interval.ms": 200,
                "topic.metadata.refresh.interval.ms": 1000,
            },
            sessions=effects.sessions,
            handler=handler,
            config=InboxConfig(**settings),
            tracer_provider=tracer_provider,
        )
        made.append(consumer)
        return consumer

    yield make
    for consumer in made:
        consumer.close()


def poll_until(consumer: InboxConsumer, done: Callable[[], bool], timeout: float = 90.0) -> None:
    """Poll ``consumer`` until ``done()``; a timeout shows its last stats."""

    def stats() -> InboxStats:
        consumer.poll(0.2)
        return consumer.stats

    eventually(stats, until=lambda _: done(), timeout=timeout, interval=0, description="done")


def test_each_effect_happens_once_even_when_every_message_comes_twice(
    effects: Any, start_relay: Any, router: TopicRouter, inbox_consumer: ConsumerFactory
) -> None:
    publish(effects, router, [(f"o-{i % 4}", i) for i in range(40)])
    start_relay("r1")
    first = inbox_consumer()
    poll_until(first, lambda: first.stats.applied == 40)
    # Another consumer group reads everything again: the inbox (same name) skips each one.
    second = inbox_consumer()
    poll_until(second, lambda: second.stats.duplicates == 40)
    assert second.stats.applied == 0
    assert effects.scalar("SELECT count(*) FROM effects") == 40
    assert effects.scalar("SELECT count(DISTINCT event_id) FROM effects") == 40
    assert effects.scalar("SELECT count(*) FROM inbox WHERE state = 'applied'") == 40
    # Per aggregate, effects were applied in publish order.
    rows = (
        effects.engine.connect()
        .execute(sa.text("SELECT aggregate, n FROM effects ORDER BY at"))
        .all()
    )
    for k in range(4):
        assert [n for a, n in rows if a == f"o-{k}"] == list(range(k, 40, 4))


def test_offsets_are_committed_after_the_database_commit(
    effects: Any, start_relay: Any, router: TopicRouter, inbox_consumer: ConsumerFactory
) -> None:
    start_relay("r1")
    publish(effects, router, [("a", n) for n in range(10)])
    consumer = inbox_consumer(group="billing-fixed")
    poll_until(consumer, lambda: consumer.stats.applied == 10)
    consumer.close()  # commits the stored offsets
    publish(effects, router, [("a", 10)])
    again = inbox_consumer(group="billing-fixed")
    poll_until(again, lambda: again.stats.applied == 1)
    assert again.stats.duplicates == 0  # nothing before the committed offset came back
    assert effects.scalar("SELECT count(*) FROM effects") == 11


def test_a_poison_message_goes_to_the_dead_letter_topic_and_the_consumer_goes_on(
    effects: Any,
    start_relay: Any,
    router: TopicRouter,
    inbox_consumer: ConsumerFactory,
    consume: Consume,
) -> None:
    def picky(session: Session, message: InboundMessage) -> None:
        if message.json()["n"] == 3:
            raise ValueError("n=3 cannot be billed")
        apply(session, message)

    start_relay("r1")
    publish(effects, router, [("a", n) for n in range(6)])
    consumer = inbox_consumer(handler=picky, attempts=3)
    poll_until(consumer, lambda: consumer.stats.applied == 5)
    assert consumer.stats.dead_lettered == 1
    assert consumer.stats.failures == 3
    (dead,) = consume(router.topic("order") + ".dlt", 1, timeout_s=60)
    headers = {k: v.decode() for k, v in dead.headers() if v is not None}
    assert json.loads(dead.value()) == {"n": 3}
    assert dead.key() == b"a"
    assert headers["eventyard.dlt.exception"] == "ValueError: n=3 cannot be billed"
    assert headers["eventyard.dlt.exception.type"] == "builtins.ValueError"
    assert headers["eventyard.dlt.attempts"] == "3"
    assert headers["eventyard.dlt.original.topic"] == router.topic("order")
    assert headers["eventyard.dlt.original.partition"] == "0"
    assert headers["eventyard.dlt.original.offset"] == "3"
    assert headers["eventyard.dlt.consumer"] == "billing"
    assert headers["eventyard.dlt.stage"] == "handle"
    assert read_dead_letter(dead.headers()).original_offset == 3
    assert headers["eventType"] == "Placed"  # the original headers travel along
    assert effects.scalar("SELECT string_agg(n::text, ',' ORDER BY at) FROM effects") == "0,1,2,4,5"
    assert (
        effects.scalar("SELECT state || ':' || attempts FROM inbox WHERE state <> 'applied'")
        == "dead:3"
    )


def test_a_rejected_message_is_dead_lettered_at_once_and_retry_later_is_not_counted(
    effects: Any, start_relay: Any, router: TopicRouter, inbox_consumer: ConsumerFactory
) -> None:
    calls: dict[int, int] = {}

    def handler(session: Session, message: InboundMessage) -> None:
        n = message.json()["n"]
        calls[n] = calls.get(n, 0) + 1
        if n == 0:
            raise RejectMessage("malformed order")
        if n == 1 and calls[n] < 3:
            raise RetryLater("the ledger is busy")
        apply(session, message)

    start_relay("r1")
    publish(effects, router, [("a", 0), ("a", 1), ("a", 2)])
    consumer = inbox_consumer(handler=handler, attempts=2)
    poll_until(consumer, lambda: consumer.stats.applied == 2)
    assert calls == {0: 1, 1: 3, 2: 1}
    assert consumer.stats.dead_lettered == 1
    assert consumer.stats.failures == 0
    assert effects.scalar("SELECT attempts FROM inbox WHERE state = 'dead'") == 1
    assert effects.scalar("SELECT string_agg(n::text, ',' ORDER BY at) FROM effects") == "1,2"


def test_the_consumer_span_continues_the_publishers_trace(
    effects: Any, start_relay: Any, router: TopicRouter, inbox_consumer: ConsumerFactory
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("shop").start_as_current_span("POST /orders"):
        publish(effects, router, [("a", 1)], tracer_provider=provider)
    start_relay("r1")
    consumer = inbox_consumer(tracer_provider=provider)
    poll_until(consumer, lambda: consumer.stats.applied == 1)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    request = spans["POST /orders"]
    create = spans[f"create {router.topic('order')}"]
    process = spans[f"process {router.topic('order')}"]
    assert process.kind == SpanKind.CONSUMER
    assert process.context.trace_id == request.context.trace_id
    assert process.parent is not None
    assert process.parent.span_id == create.context.span_id
    assert create.parent is not None
    assert create.parent.span_id == request.context.span_id


def test_inbox_rows_expire(
    effects: Any, start_relay: Any, router: TopicRouter, inbox_consumer: ConsumerFactory
) -> None:
    start_relay("r1")
    publish(effects, router, [("a", 1), ("a", 2)])
    consumer = inbox_consumer(retention=timedelta(0), cleanup_interval=0.0)
    poll_until(consumer, lambda: consumer.stats.applied == 2)
    poll_until(consumer, lambda: effects.scalar("SELECT count(*) FROM inbox") == 0)
    assert effects.scalar("SELECT count(*) FROM effects") == 2
