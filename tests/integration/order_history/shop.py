"""One order-history test's world: source databases shaped like the shop's (orders,
customers), a target database, a topic prefix and the two Debezium connectors' specs, and their
removal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from eventyard.service import with_database
from eventyard.stack import ConnectClient, drop_replication_slot
from eventyard_order_history.adapters.debezium import ConnectorSpec, shop_connectors

ORDERS = """
CREATE TABLE orders (
    id uuid PRIMARY KEY,
    customer_id uuid NOT NULL,
    status text NOT NULL,
    reason text,
    total bigint,
    lines jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    idempotency_key text,
    request_hash text,
    traceparent text,
    trace_id text
);
-- A delete's "before" then carries the row; with the default identity Debezium fills the
-- NOT NULL columns other than the key with '' (see the service's README).
ALTER TABLE orders REPLICA IDENTITY FULL
"""
CUSTOMERS = """
CREATE TABLE customers (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    credit_limit bigint NOT NULL,
    credit_reserved bigint NOT NULL DEFAULT 0,
    traceparent text
)
"""


class Shop:
    """Names for one test: source and target databases, topic prefix, connectors."""

    def __init__(self, pg_dsn: str, unique_name: Callable[[str], str]) -> None:
        self.pg_dsn = pg_dsn
        self.prefix = unique_name("oh")
        self.orders_db = unique_name("orders")
        self.customers_db = unique_name("customers")
        self.target_db = unique_name("history")
        self.specs: tuple[ConnectorSpec, ConnectorSpec] = shop_connectors(
            self.prefix, orders_database=self.orders_db, customers_database=self.customers_db
        )

    def dsn(self, database: str) -> str:
        return with_database(self.pg_dsn, database)

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.pg_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def create_sources(self) -> None:
        """The two source databases with their tables (what the orders and customers services
        create at their start)."""
        self.create_database(self.orders_db)
        self.create_database(self.customers_db)
        self.sql(self.orders_db, ORDERS)
        self.sql(self.customers_db, CUSTOMERS)

    def sql(self, database: str, statement: str, params: Any = None) -> None:
        with psycopg.connect(self.dsn(database), autocommit=True) as conn:
            conn.execute(statement, params)

    def rows(self, database: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn(database), autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def topic_prefixes(self) -> list[str]:
        return [f"{self.prefix}.", f"__debezium-heartbeat.{self.prefix}."]

    def remove(self, connect_url: str) -> None:
        client = ConnectClient(connect_url)
        try:
            for spec in self.specs:
                client.delete(spec.name)
        finally:
            client.close()
        for spec in self.specs:
            drop_replication_slot(self.pg_dsn, spec.slot)
        with psycopg.connect(self.pg_dsn, autocommit=True) as conn:
            for name in (self.orders_db, self.customers_db, self.target_db):
                with contextlib.suppress(psycopg.Error):
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
