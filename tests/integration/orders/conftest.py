"""The orders service on the real stack: a fresh database, its own topics, and (for the saga
tests) the two participants as real ``Participant`` objects with tiny handlers, in threads."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy.orm import Session, sessionmaker

from eventyard.outbox import (
    InboxConfig,
    InboxConsumer,
    InboxTable,
    KafkaSink,
    Outbox,
    OutboxTable,
    PostgresOutboxStore,
    Relay,
    RelayConfig,
    TopicRouter,
    create_outbox_schema,
    producer_config,
)
from eventyard.saga import (
    CommandEnvelope,
    CommandRejected,
    Participant,
    SagaTables,
    create_saga_schema,
)
from eventyard.service import sa_url
from eventyard.telemetry import configure
from eventyard.telemetry.testing import reset
from eventyard_orders import Orders, Settings, bootstrap, create_app
from tests.integration.orders.ledger import Ledger

CHANNELS = ("customers.commands", "inventory.commands", "saga.replies", "orders.events")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def prefix(kafka_bootstrap: str, unique_name: Callable[[str], str]) -> Iterator[str]:
    """A topic prefix of this test's own, its four topics created (and deleted afterwards)."""
    name = unique_name("shop")
    topics = [f"{name}.{channel}" for channel in CHANNELS]
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=2, replication_factor=1) for t in topics]
    )
    for future in futures.values():
        future.result(30)
    yield name
    for future in admin.delete_topics(topics).values():
        future.result(30)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Telemetry configured for this test, spans kept in memory (ask for it before the app)."""
    exporter = InMemorySpanExporter()
    configure(service_name="orders", span_exporter=exporter)
    yield exporter
    reset()


@pytest.fixture
def orders(pg_database: str, kafka_bootstrap: str, registry_url: str, prefix: str) -> Orders:
    """The wired service on a fresh database (not booted)."""
    settings = Settings(
        dsn=pg_database,
        kafka_bootstrap=kafka_bootstrap,
        registry_url=registry_url,
        topic_prefix=prefix,
        port=_free_port(),
        step_deadline_s=10,
        shutdown_grace_s=2,
    )
    return bootstrap(settings)


@pytest.fixture
def booted(orders: Orders) -> Iterator[TestClient]:
    """The API on a migrated database, with no relay or orchestrator running."""
    orders.runtime.boot()
    yield TestClient(create_app(orders))
    orders.runtime.stop()


@pytest.fixture
def db(pg_database: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(sa_url(pg_database))
    yield engine
    engine.dispose()


def _participants(outbox: Callable[[str], Outbox], ledger: Ledger) -> list[Participant]:
    customers = Participant(
        "customers", outbox=outbox("customers"), tables=SagaTables(schema="customers")
    )
    inventory = Participant(
        "inventory", outbox=outbox("inventory"), tables=SagaTables(schema="inventory")
    )

    @inventory.handles("PriceOrder")
    def price(session: Session, command: CommandEnvelope) -> dict[str, Any]:
        lines = []
        for line in command.payload["lines"]:
            if line["sku"] not in ledger.prices:
                raise CommandRejected(f"unknown sku {line['sku']}")
            lines.append(dict(line, unit_price=ledger.prices[line["sku"]]))
        return {"lines": lines, "total": sum(x["unit_price"] * x["quantity"] for x in lines)}

    @inventory.handles("ReserveStock")
    def reserve_stock(session: Session, command: CommandEnvelope) -> None:
        with ledger.lock:
            for line in command.payload["lines"]:
                available = ledger.stock.get(line["sku"], 0)
                if available < line["quantity"]:
                    raise CommandRejected(
                        f"out of stock: {line['sku']} (requested {line['quantity']}, "
                        f"available {available})"
                    )
            for line in command.payload["lines"]:
                ledger.stock[line["sku"]] -= line["quantity"]
            held = {line["sku"]: line["quantity"] for line in command.payload["lines"]}
            ledger.stock_held[command.payload["order_id"]] = held

    @inventory.handles("ReleaseStock")
    def release_stock(session: Session, command: CommandEnvelope) -> None:
        with ledger.lock:
            for sku, n in ledger.stock_held.pop(command.payload["order_id"], {}).items():
                ledger.stock[sku] += n

    @customers.handles("ReserveCredit")
    def reserve_credit(session: Session, command: CommandEnvelope) -> dict[str, Any]:
        customer, amount = command.payload["customer_id"], command.payload["amount"]
        with ledger.lock:
            if customer not in ledger.credit:
                raise CommandRejected(f"unknown customer {customer}")
            if ledger.credit[customer] < amount:
                raise CommandRejected(
                    f"insufficient credit: available {ledger.credit[customer]}, "
                    f"order total {amount}"
                )
            ledger.credit[customer] -= amount
            ledger.credit_held[command.payload["order_id"]] = amount
        return {"reservation_id": f"r-{command.payload['order_id'][:8]}"}

    @customers.handles("ReleaseCredit")
    def release_credit(session: Session, command: CommandEnvelope) -> None:
        with ledger.lock:
            held = ledger.credit_held.pop(command.payload["order_id"], 0)
            ledger.credit[command.payload["customer_id"]] += held

    return [customers, inventory]


@pytest.fixture
def running(
    orders: Orders, pg_database: str, kafka_bootstrap: str, prefix: str
) -> Iterator[tuple[TestClient, Ledger]]:
    """The whole saga: the service with its relay and orchestrator (its lifespan), and both
    participants (consumers and relays in threads) in schemas of the same database."""
    with psycopg.connect(pg_database, autocommit=True) as conn:
        for name in ("customers", "inventory"):
            create_outbox_schema(
                conn, outbox=OutboxTable(schema=name), inbox=InboxTable(schema=name)
            )
            create_saga_schema(
                conn, tables=SagaTables(schema=name), orchestrator=False, participant=True
            )
    router = TopicRouter(template=prefix + ".{aggregatetype}")
    engine = sa.create_engine(sa_url(pg_database), pool_size=4)
    sessions = sessionmaker(engine)
    ledger = Ledger()

    def outbox(name: str) -> Outbox:
        return Outbox(table=OutboxTable(schema=name), router=router)

    loops: list[InboxConsumer | Relay] = []
    for participant in _participants(outbox, ledger):
        name = participant.name
        loops.append(
            participant.consumer(
                {
                    "bootstrap.servers": kafka_bootstrap,
                    "group.id": f"{prefix}.{name}",
                },
                sessions=sessions,
                inbox=InboxConfig(
                    name=name,
                    topics=(participant.topic,),
                    table=InboxTable(schema=name),
                    poll_timeout=0.05,
                ),
            )
        )
        loops.append(
            Relay(
                store=PostgresOutboxStore(pg_database, table=OutboxTable(schema=name)),
                sink=lambda: KafkaSink(producer_config(kafka_bootstrap, client_id="test")),
                config=RelayConfig(name=f"{prefix}-{name}", router=router, poll_interval=0.2),
            )
        )
    threads = [threading.Thread(target=loop.run, daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        with TestClient(create_app(orders)) as client:
            while client.get("/readyz").status_code != 200:
                time.sleep(0.1)
            yield client, ledger
    finally:
        for loop in loops:
            loop.stop()
        for thread in threads:
            thread.join(30)
        engine.dispose()
