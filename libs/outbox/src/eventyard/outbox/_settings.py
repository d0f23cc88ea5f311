"""The relay's settings from the environment, and the one place that wires a relay from them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventyard.outbox._kafka import KafkaSink, producer_config
from eventyard.outbox._ports import Cleanup
from eventyard.outbox._postgres import PostgresOutboxStore
from eventyard.outbox._relay import Relay, RelayConfig
from eventyard.outbox._routing import TopicRouter
from eventyard.outbox._schema import OutboxTable

__all__ = ["RelaySettings", "build_relay"]


class RelaySettings(BaseSettings):
    """``EVENTYARD_OUTBOX_*`` variables (the DSN and bootstrap also from ``EVENTYARD_PG_DSN`` and
    ``EVENTYARD_KAFKA_BOOTSTRAP``, as the local stack exports them)."""

    model_config = SettingsConfigDict(env_prefix="EVENTYARD_OUTBOX_", frozen=True, extra="ignore")

    dsn: str = Field(validation_alias=AliasChoices("EVENTYARD_OUTBOX_DSN", "EVENTYARD_PG_DSN"))
    kafka_bootstrap: str = Field(
        validation_alias=AliasChoices(
            "EVENTYARD_OUTBOX_KAFKA_BOOTSTRAP", "EVENTYARD_KAFKA_BOOTSTRAP"
        )
    )
    table: str = "outbox"
    db_schema: str = Field(
        default="public", validation_alias=AliasChoices("EVENTYARD_OUTBOX_SCHEMA")
    )
    partitions: int = 64
    topic_template: str = "outbox.event.{aggregatetype}"
    relay_name: str | None = None
    batch_size: int = 500
    batches_in_flight: int = 2
    poll_interval_s: float = 1.0
    rebalance_interval_s: float = 2.0
    shutdown_grace_s: float = 10.0
    retention_s: float | None = None
    cleanup_interval_s: float = 60.0
    health_host: str = "127.0.0.1"
    health_port: int | None = None
    max_message_bytes: int = 1_000_000
    producer: dict[str, Any] = Field(default_factory=dict)

    def outbox_table(self) -> OutboxTable:
        """The table the relay reads."""
        return OutboxTable(name=self.table, schema=self.db_schema, partitions=self.partitions)

    def relay_config(self) -> RelayConfig:
        """The relay's runtime config."""
        extra: dict[str, Any] = {}
        if self.relay_name:
            extra["name"] = self.relay_name
        return RelayConfig(
            router=TopicRouter(template=self.topic_template),
            batch_size=self.batch_size,
            batches_in_flight=self.batches_in_flight,
            poll_interval=self.poll_interval_s,
            rebalance_interval=self.rebalance_interval_s,
            shutdown_grace=self.shutdown_grace_s,
            health_host=self.health_host,
            health_port=self.health_port,
            **extra,
        )

    def cleanup(self) -> Cleanup:
        """Delete at once, or keep for ``retention_s``."""
        if self.retention_s is None:
            return Cleanup()
        return Cleanup(
            retention=timedelta(seconds=self.retention_s),
            interval=timedelta(seconds=self.cleanup_interval_s),
        )


def build_relay(settings: RelaySettings) -> Relay:
    """A relay on PostgreSQL and Kafka, wired from ``settings``."""
    config = settings.relay_config()
    store = PostgresOutboxStore(
        settings.dsn, table=settings.outbox_table(), cleanup=settings.cleanup()
    )
    producer = producer_config(
        settings.kafka_bootstrap,
        client_id=f"eventyard-outbox-{config.name}",
        max_message_bytes=settings.max_message_bytes,
        extra=settings.producer,
    )
    return Relay(store=store, sink=lambda: KafkaSink(producer), config=config)
