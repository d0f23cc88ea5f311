"""publish() in the caller's transaction, sync and async; what is refused; Avro; Alembic."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import Session

from eventyard.outbox import (
    AvroSerializer,
    Event,
    InboxTable,
    Outbox,
    OutboxTable,
    PayloadTooLarge,
    TopicRouter,
    create_outbox_schema,
    drop_outbox_schema,
)

Consume = Callable[..., list[Any]]


def event(aggregate: str, n: int, **extra: Any) -> Event:
    return Event(
        aggregate_type="order", aggregate_id=aggregate, type="Placed", payload={"n": n}, **extra
    )


def test_publish_writes_the_row_in_the_callers_transaction(outbox_db: Any) -> None:
    outbox = Outbox(table=outbox_db.table)
    with Session(outbox_db.engine) as session, session.begin():
        session.execute(sa.text("CREATE TABLE orders (id text PRIMARY KEY)"))
        session.execute(sa.text("INSERT INTO orders VALUES ('o-1')"))
        record = outbox.publish(session, event("o-1", 1, headers={"tenant": "acme"}))
    with psycopg.connect(outbox_db.dsn) as conn:
        row = conn.execute(
            "SELECT id, aggregatetype, aggregateid, type, payload, headers, contenttype, vpart, "
            "seq FROM outbox"
        ).fetchone()
    assert row is not None
    assert row[0] == record.id
    assert row[1:4] == ("order", "o-1", "Placed")
    assert json.loads(row[4]) == {"n": 1}
    assert row[5] == {"tenant": "acme", "content-type": "application/json"}
    assert row[6] == "application/json"
    assert 0 <= row[7] < outbox_db.table.partitions
    assert row[8] >= 1


def publish_then_fail(session: Session, outbox: Outbox, failed: Event) -> None:
    """A business transaction that publishes, then fails: it rolls back."""
    with session.begin():
        outbox.publish(session, failed)
        raise RuntimeError("the order was refused")


def test_a_rolled_back_transaction_leaves_no_row(outbox_db: Any) -> None:
    outbox = Outbox(table=outbox_db.table)
    with Session(outbox_db.engine) as session:
        with session.begin():
            outbox.publish(session, event("kept", 1))
        with pytest.raises(RuntimeError):
            publish_then_fail(session, outbox, event("gone", 1))
    assert outbox_db.scalar("SELECT string_agg(aggregateid, ',') FROM outbox") == "kept"


def test_rollback_publishes_nothing_end_to_end(
    outbox_db: Any, start_relay: Any, router: TopicRouter, consume: Consume
) -> None:
    outbox = Outbox(table=outbox_db.table, router=router)
    start_relay("r1")
    with Session(outbox_db.engine) as session:
        with session.begin():
            outbox.publish(session, event("a", 1))
        with pytest.raises(RuntimeError):
            publish_then_fail(session, outbox, event("rolled-back", 1))
        with session.begin():
            outbox.publish(session, event("marker", 1))
    # One topic partition: once the marker arrived, everything committed before it has too.
    got = consume(
        router.topic("order"), 10, timeout_s=60, until=lambda ms: ms[-1].key() == b"marker"
    )
    assert [m.key() for m in got] == [b"a", b"marker"]


def test_publish_all_keeps_the_order_given(outbox_db: Any) -> None:
    outbox = Outbox(table=outbox_db.table)
    with Session(outbox_db.engine) as session, session.begin():
        outbox.publish_all(session, [event("a", n) for n in range(50)])
    with psycopg.connect(outbox_db.dsn) as conn:
        rows = conn.execute("SELECT payload FROM outbox ORDER BY seq").fetchall()
    assert [json.loads(r[0])["n"] for r in rows] == list(range(50))


def test_publish_with_an_async_session(outbox_db: Any, sa_url: Any) -> None:
    outbox = Outbox(table=outbox_db.table)

    async def main() -> None:
        engine = create_async_engine(sa_url(outbox_db.dsn))
        try:
            async with engine.connect() as conn, conn.begin():
                session = AsyncSession(bind=conn)
                await outbox.publish_async(session, event("async-1", 1))
                await outbox.publish_all_async(session, [event("async-1", 2), event("async-2", 1)])
                await session.flush()
            async with engine.connect() as conn:
                await conn.begin()
                session = AsyncSession(bind=conn)
                await outbox.publish_async(session, event("never", 1))
                await conn.rollback()
        finally:
            await engine.dispose()

    asyncio.run(main())
    assert outbox_db.scalar("SELECT string_agg(aggregateid, ',' ORDER BY seq) FROM outbox") == (
        "async-1,async-1,async-2"
    )


def test_a_payload_over_the_limit_is_refused_and_the_transaction_goes_on(outbox_db: Any) -> None:
    outbox = Outbox(table=outbox_db.table, max_message_bytes=50_000)
    with Session(outbox_db.engine) as session, session.begin():
        with pytest.raises(PayloadTooLarge, match="max_message_bytes"):
            outbox.publish(
                session,
                Event(
                    aggregate_type="order", aggregate_id="big", type="Placed", payload="y" * 60_000
                ),
            )
        outbox.publish(session, event("small", 1))
    assert outbox_db.scalar("SELECT string_agg(aggregateid, ',') FROM outbox") == "small"


def test_avro_bytes_reach_kafka_untouched_with_their_schema_id(
    outbox_db: Any, start_relay: Any, router: TopicRouter, consume: Consume
) -> None:
    registry = SchemaRegistryClient.new_client({"url": "mock://outbox-integration"})
    schema = json.dumps(
        {
            "type": "record",
            "name": "OrderPlaced",
            "fields": [{"name": "order_id", "type": "string"}, {"name": "total", "type": "long"}],
        }
    )
    outbox = Outbox(
        table=outbox_db.table, router=router, serializer=AvroSerializer(registry, schema)
    )
    with Session(outbox_db.engine) as session, session.begin():
        record = outbox.publish(
            session,
            Event(
                aggregate_type="order",
                aggregate_id="o-9",
                type="OrderPlaced",
                payload={"order_id": "o-9", "total": 7},
            ),
        )
    start_relay("r1")
    (message,) = consume(router.topic("order"), 1, timeout_s=60)
    assert message.value() == record.payload
    headers = dict(message.headers())
    assert headers["contentType"] == b"application/vnd.confluent.avro"
    schema_id = int.from_bytes(record.payload[1:5], "big")
    assert json.loads(headers["eventyard.headers"])["schema-id"] == str(schema_id)
    decoded = AvroDeserializer(registry)(
        message.value(), SerializationContext(router.topic("order"), MessageField.VALUE)
    )
    assert decoded == {"order_id": "o-9", "total": 7}


def test_the_alembic_helper_creates_and_drops_the_schema(pg_database: str, sa_url: Any) -> None:
    engine = sa.create_engine(sa_url(pg_database))
    table = OutboxTable(name="events", schema="shop", partitions=4)
    with engine.begin() as conn:
        op = Operations(MigrationContext.configure(conn))
        create_outbox_schema(op, outbox=table, inbox=InboxTable(schema="shop"))
        create_outbox_schema(op, outbox=table, inbox=InboxTable(schema="shop"))  # idempotent
    with Session(engine) as session, session.begin():
        Outbox(table=table).publish(session, event("a", 1))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM shop.events")).scalar() == 1
    with engine.begin() as conn:
        drop_outbox_schema(
            Operations(MigrationContext.configure(conn)),
            outbox=table,
            inbox=InboxTable(schema="shop"),
        )
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT to_regclass('shop.events')")).scalar() is None
    engine.dispose()
