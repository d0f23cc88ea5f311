"""The Debezium connectors order-history registers: their names and their configuration (pure),
built by the shared :func:`eventyard.kafka.connect.postgres_connector_config`.

One connector per source database: ``<prefix>-cdc-orders`` streams ``public.orders`` of the
orders database to ``<prefix>.cdc.orders.public.orders``; ``<prefix>-cdc-customers`` streams
``public.customers`` to ``<prefix>.cdc.customers.public.customers``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventyard.kafka.connect import postgres_connector_config, slot_name_for

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
        """The replication slot: the connector's name in lower case, with underscores."""
        return slot_name_for(self.name)

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
    return postgres_connector_config(
        dsn=server_dsn,
        dbname=spec.database,
        tables=[spec.table],
        topic_prefix=spec.topic_prefix,
        slot=spec.slot,
        publication=spec.publication,
        snapshot_mode="initial",
        heartbeat_interval_ms=10_000,
        poll_interval_ms=50,
        topic_partitions=1,
        topic_replication_factor=-1,
        extra={"skipped.operations": "none"},
    )
