"""The Debezium connectors order-history registers: their names and their configuration (pure).

One connector per source database: ``<prefix>-cdc-orders`` streams ``public.orders`` of the
orders database to ``<prefix>.cdc.orders.public.orders``; ``<prefix>-cdc-customers`` streams
``public.customers`` to ``<prefix>.cdc.customers.public.customers``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

__all__ = ["ConnectorSpec", "connector_config", "shop_connectors"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorSpec:
    """One connector: its name, the database and table it streams, its topic prefix."""

    name: str
    database: str
    table: str
    topic_prefix: str

    @property
    def slot(self) -> str:
        """The replication slot: the connector's name with underscores."""
        return self.name.replace("-", "_").replace(".", "_")

    @property
    def publication(self) -> str:
        """The publication Debezium creates for the table (``filtered``)."""
        return f"{self.slot}_pub"

    @property
    def topic(self) -> str:
        """The topic the table's changes go to."""
        return f"{self.topic_prefix}.{self.table}"

    @property
    def heartbeat_topic(self) -> str:
        """The topic of the connector's heartbeats."""
        return f"__debezium-heartbeat.{self.topic_prefix}"


def shop_connectors(
    prefix: str, *, orders_database: str, customers_database: str
) -> tuple[ConnectorSpec, ConnectorSpec]:
    """The orders and customers connectors for topic prefix ``prefix`` (``shop``)."""
    return (
        ConnectorSpec(
            name=f"{prefix}-cdc-orders",
            database=orders_database,
            table="public.orders",
            topic_prefix=f"{prefix}.cdc.orders",
        ),
        ConnectorSpec(
            name=f"{prefix}-cdc-customers",
            database=customers_database,
            table="public.customers",
            topic_prefix=f"{prefix}.cdc.customers",
        ),
    )


def connector_config(spec: ConnectorSpec, server_dsn: str) -> dict[str, str]:
    """The connector's Kafka Connect configuration, for the PostgreSQL server of ``server_dsn``.

    pgoutput with a publication of the one table (no superuser needed beyond owning it), the
    JSON converter with schemas (the decoder takes column types from them), truncates streamed,
    heartbeats so the slot moves on a quiet database, one-partition topics (the projection and
    the faust app rely on per-key order only, and faust's tables copy their source's
    partitioning).
    """
    info = psycopg.conninfo.conninfo_to_dict(server_dsn)
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "tasks.max": "1",
        "plugin.name": "pgoutput",
        "database.hostname": str(info.get("host") or "127.0.0.1"),
        "database.port": str(info.get("port") or 5432),
        "database.user": str(info.get("user") or "postgres"),
        "database.password": str(info.get("password") or ""),
        "database.dbname": spec.database,
        "topic.prefix": spec.topic_prefix,
        "table.include.list": spec.table,
        "slot.name": spec.slot,
        "publication.name": spec.publication,
        "publication.autocreate.mode": "filtered",
        "snapshot.mode": "initial",
        "skipped.operations": "none",
        "heartbeat.interval.ms": "10000",
        "poll.interval.ms": "50",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "true",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
        "topic.creation.default.partitions": "1",
        "topic.creation.default.replication.factor": "-1",
    }
