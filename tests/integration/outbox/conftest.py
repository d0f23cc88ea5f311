"""Fixtures for the outbox's integration tests: a database with the outbox, relays, topics."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import psycopg
import pytest
import sqlalchemy as sa
from confluent_kafka.admin import AdminClient
from sqlalchemy.orm import Session, sessionmaker

from eventyard.outbox import (
    InboxTable,
    KafkaSink,
    OutboxTable,
    PostgresOutboxStore,
    Relay,
    RelayConfig,
    TopicRouter,
    create_outbox_schema,
    producer_config,
)

PARTITIONS = 8


@dataclass
class OutboxDb:
    """A fresh database with an outbox (8 partitions), an inbox and the heartbeat table."""

    dsn: str
    engine: sa.Engine
    table: OutboxTable
    sessions: sessionmaker[Session]

    def scalar(self, query: str) -> object:
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute(query.encode()).fetchone()
        return None if row is None else row[0]


def sqlalchemy_url(dsn: str) -> sa.URL:
    """The SQLAlchemy URL (psycopg 3 driver, sync and async) of a libpq DSN."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return sa.URL.create(
        "postgresql+psycopg",
        username=str(info.get("user") or "postgres"),
        password=str(info["password"]) if info.get("password") else None,
        host=str(info.get("host") or "127.0.0.1"),
        port=int(str(info.get("port") or 5432)),
        database=str(info.get("dbname") or "postgres"),
    )


@pytest.fixture
def sa_url() -> Callable[[str], sa.URL]:
    """Turns a libpq DSN into a SQLAlchemy URL."""
    return sqlalchemy_url


@pytest.fixture
def outbox_db(pg_database: str) -> Iterator[OutboxDb]:
    table = OutboxTable(partitions=PARTITIONS)
    with psycopg.connect(pg_database, autocommit=True) as conn:
        create_outbox_schema(conn, outbox=table, inbox=InboxTable(), debezium_heartbeat=True)
    engine = sa.create_engine(sqlalchemy_url(pg_database))
    yield OutboxDb(dsn=pg_database, engine=engine, table=table, sessions=sessionmaker(engine))
    engine.dispose()


@pytest.fixture
def router(unique_name: Callable[[str], str], kafka_bootstrap: str) -> Iterator[TopicRouter]:
    """Topics unique to the test: ``<unique>.{aggregatetype}``; deleted afterwards."""
    prefix = unique_name("ob")
    yield TopicRouter(template=prefix + ".{aggregatetype}")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    made = [t for t in admin.list_topics(timeout=10).topics if t.startswith(prefix + ".")]
    if made:
        for future in admin.delete_topics(made).values():
            with contextlib.suppress(Exception):
                future.result(30)


RelayFactory = Callable[..., Relay]


@pytest.fixture
def start_relay(
    outbox_db: OutboxDb, kafka_bootstrap: str, router: TopicRouter
) -> Iterator[RelayFactory]:
    """Start relays in threads on the test's outbox; all are stopped afterwards."""
    running: list[tuple[Relay, threading.Thread]] = []

    def start(
        name: str = "relay", *, store: PostgresOutboxStore | None = None, **config: object
    ) -> Relay:
        settings: dict[str, object] = {
            "name": name,
            "router": router,
            "poll_interval": 0.5,
            "rebalance_interval": 0.5,
        }
        settings.update(config)
        relay = Relay(
            store=store or PostgresOutboxStore(outbox_db.dsn, table=outbox_db.table),
            sink=lambda: KafkaSink(producer_config(kafka_bootstrap, client_id=name)),
            config=RelayConfig(**settings),  # type: ignore[arg-type]
        )
        thread = threading.Thread(target=relay.run, name=name, daemon=True)
        thread.start()
        running.append((relay, thread))
        return relay

    yield start
    for relay, _ in running:
        relay.stop()
    for _, thread in running:
        thread.join(30)
