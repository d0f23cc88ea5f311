"""Debezium mode: the generated EventRouter connector gives consumers what the relay gives them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.orm import Session

from eventyard.outbox import (
    ConnectorError,
    DebeziumConnector,
    Event,
    InboundMessage,
    InboxConfig,
    InboxConsumer,
    InboxStats,
    Outbox,
    TopicRouter,
)
from eventyard.stack import drop_replication_slot
from tests.support.eventually import eventually

Consume = Callable[..., list[Any]]


def connector_for(outbox_db: Any, router: TopicRouter, prefix: str) -> DebeziumConnector:
    return DebeziumConnector(
        name=prefix, dsn=outbox_db.dsn, table=outbox_db.table, router=router, topic_prefix=prefix
    )


def test_debezium_and_the_relay_deliver_the_same_messages(
    outbox_db: Any,
    start_relay: Any,
    connectors: Any,
    consume: Consume,
    unique_name: Callable[[str], str],
) -> None:
    relay_router = TopicRouter(template=unique_name("relay") + ".{aggregatetype}")
    cdc_router = TopicRouter(template=unique_name("cdc") + ".{aggregatetype}")
    connector = connector_for(outbox_db, cdc_router, unique_name("dbz"))
    connectors.create(connector.name, connector.config(), slot=connector.slot_name)
    provider = TracerProvider()
    outbox = Outbox(table=outbox_db.table, router=relay_router, tracer_provider=provider)
    events = [
        Event(
            aggregate_type="order",
            aggregate_id=f"o-{i % 3}",
            type="OrderPlaced",
            payload={"n": i},
            headers={"tenant": "acme"},
        )
        for i in range(12)
    ]
    with (
        provider.get_tracer("t").start_as_current_span("request"),
        Session(outbox_db.engine) as session,
        session.begin(),
    ):
        outbox.publish_all(session, events)
    start_relay(
        "r1", router=relay_router
    )  # it also deletes the rows: the EventRouter drops deletes
    from_relay = consume(relay_router.topic("order"), 12, timeout_s=60)
    from_debezium = consume(cdc_router.topic("order"), 12, timeout_s=120)
    assert len(from_relay) == len(from_debezium) == 12

    def shape(message: Any) -> tuple[bytes, bytes, dict[str, bytes | None]]:
        return message.key(), message.value(), dict(message.headers())

    assert [shape(m) for m in from_relay] == [shape(m) for m in from_debezium]
    headers = dict(from_debezium[0].headers())
    assert set(headers) == {
        "id",
        "eventType",
        "aggregateType",
        "contentType",
        "traceparent",
        "tracestate",
        "eventyard.headers",
    }
    assert headers["id"] == str(events[0].id).encode()
    assert headers["traceparent"] is not None
    assert headers["tracestate"] is None
    assert outbox_db.scalar("SELECT count(*) FROM outbox") == 0


def test_the_same_inbox_consumer_works_on_debezium_topics(
    outbox_db: Any, connectors: Any, kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    router = TopicRouter(template=unique_name("cdc") + ".{aggregatetype}")
    connector = connector_for(outbox_db, router, unique_name("dbz"))
    connectors.create(connector.name, connector.config(), slot=connector.slot_name)
    with outbox_db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE effects (aggregate text, n int)"))
    outbox = Outbox(table=outbox_db.table, router=router, delete_after_insert=True)
    with Session(outbox_db.engine) as session, session.begin():
        outbox.publish_all(
            session,
            [
                Event(aggregate_type="order", aggregate_id="a", type="E", payload={"n": n})
                for n in range(5)
            ],
        )
    assert outbox_db.scalar("SELECT count(*) FROM outbox") == 0  # Debezium mode keeps it empty

    def apply(session: Session, message: InboundMessage) -> None:
        session.execute(
            sa.text("INSERT INTO effects VALUES (:a, :n)"),
            {"a": message.key, "n": message.json()["n"]},
        )

    consumer = InboxConsumer(
        kafka={"bootstrap.servers": kafka_bootstrap, "group.id": uuid.uuid4().hex},
        sessions=outbox_db.sessions,
        handler=apply,
        config=InboxConfig(name="dbz", topics=(router.topic("order"),)),
    )
    try:

        def stats() -> InboxStats:
            consumer.poll(0.5)
            return consumer.stats

        eventually(
            stats,
            until=lambda s: s.applied >= 5,
            timeout=120,
            interval=0,
            description="five events applied",
        )
    finally:
        consumer.close()
    assert outbox_db.scalar("SELECT string_agg(n::text, ',') FROM effects") == "0,1,2,3,4"


def test_register_through_connect_rest_and_heartbeats_write(
    outbox_db: Any, connect_url: str, unique_name: Callable[[str], str]
) -> None:
    connector = connector_for(outbox_db, TopicRouter(), unique_name("dbz"))
    try:
        connector.register(connect_url)
        eventually(
            lambda: outbox_db.scalar("SELECT count(*) FROM outbox_heartbeat"),
            timeout=60,
            description="a heartbeat written",
        )
    finally:
        connector.unregister(connect_url)
        drop_replication_slot(outbox_db.dsn, connector.slot_name)


def test_a_connector_connect_refuses_is_a_clear_error(
    outbox_db: Any, connect_url: str, unique_name: Callable[[str], str]
) -> None:
    connector = DebeziumConnector(
        name=unique_name("bad"), dsn=outbox_db.dsn, extra={"plugin.name": "no-such-plugin"}
    )
    with pytest.raises(ConnectorError, match=connector.name):
        connector.register(connect_url, timeout_s=30)
    connector.unregister(connect_url)
