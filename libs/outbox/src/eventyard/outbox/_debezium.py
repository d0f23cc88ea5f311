"""Debezium mode: the PostgreSQL connector with the Outbox Event Router, made and registered.

The generated config gives consumers exactly what the polling relay gives them: the same topic
(``route.topic.replacement`` from the same :class:`TopicRouter`), key = ``aggregateid`` as a
plain string, value = ``payload`` bytes passed through (``BinaryDataConverter``), and the same
headers (``id`` from the EventRouter, the rest by ``table.fields.additional.placement``).
Heartbeats run every ``heartbeat_interval_ms`` and write to a small heartbeat table in the
publication, so the replication slot moves on even while the outbox is quiet and never holds
WAL back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from eventyard.kafka.connect import (
    ConnectClient,
    ConnectError,
    postgres_connector_config,
    slot_name_for,
)
from eventyard.outbox._exceptions import ConfigError, ConnectorError
from eventyard.outbox._model import (
    HEADER_AGGREGATE_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_EVENT_TYPE,
    HEADER_EXTRA,
    HEADER_TRACEPARENT,
    HEADER_TRACESTATE,
)
from eventyard.outbox._routing import TopicRouter
from eventyard.outbox._schema import OutboxTable

__all__ = ["DebeziumConnector"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")

#: Columns the relay uses and the EventRouter does not need.
_RELAY_COLUMNS = ("seq", "vpart", "published_at", "failed_at", "error", "created_at")

#: Key = ``aggregateid`` as a plain string, value = ``payload`` bytes as they are, headers as text.
_PASS_THROUGH_CONVERTERS: Mapping[str, str] = MappingProxyType(
    {
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "io.debezium.converters.BinaryDataConverter",
        "value.converter.delegate.converter.type": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.delegate.converter.type.schemas.enable": "false",
        "header.converter": "org.apache.kafka.connect.storage.SimpleHeaderConverter",
    }
)

#: Outbox columns put in Kafka headers by the EventRouter (``id`` it puts there itself).
_HEADER_COLUMNS = (
    ("type", HEADER_EVENT_TYPE),
    ("aggregatetype", HEADER_AGGREGATE_TYPE),
    ("contenttype", HEADER_CONTENT_TYPE),
    ("traceparent", HEADER_TRACEPARENT),
    ("tracestate", HEADER_TRACESTATE),
    ("headers", HEADER_EXTRA),
)


@dataclass(frozen=True, kw_only=True)
class DebeziumConnector:
    """A Debezium PostgreSQL connector streaming one outbox table through the EventRouter.

    ``dsn`` names the database and a user with the ``REPLICATION`` attribute that owns the
    outbox table (a ``filtered`` publication needs no superuser). ``slot`` and ``publication``
    default to names derived from ``name``.
    """

    name: str
    dsn: str
    table: OutboxTable = field(default_factory=OutboxTable)
    router: TopicRouter = field(default_factory=TopicRouter)
    topic_prefix: str = "eventyard"
    slot: str | None = None
    publication: str | None = None
    heartbeat_interval_ms: int = 1000
    heartbeat_table: bool = True
    poll_interval_ms: int = 50
    topic_partitions: int = 1
    topic_replication_factor: int = 1
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ConfigError(f"connector name {self.name!r}: letters, digits, '._-' only")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.topic_prefix):
            raise ConfigError(f"topic prefix {self.topic_prefix!r} is not a topic name part")
        for value, what in ((self.slot, "slot"), (self.publication, "publication")):
            if value is not None and not re.fullmatch(r"[a-z0-9_]{1,63}", value):
                raise ConfigError(f"{what} name {value!r}: lower-case letters, digits, '_'")

    @property
    def slot_name(self) -> str:
        """The replication slot (PostgreSQL allows ``[a-z0-9_]``)."""
        return self.slot or slot_name_for(self.name)

    @property
    def publication_name(self) -> str:
        """The publication Debezium creates for the outbox (and heartbeat) table."""
        return self.publication or f"{self.slot_name}_pub"[:63]

    @property
    def source_topic(self) -> str:
        """The topic Debezium would give the outbox table's change events (the SMT's input)."""
        return f"{self.topic_prefix}.{self.table.schema}.{self.table.name}"

    def config(self) -> dict[str, str]:
        """The connector config, as ``PUT /connectors/<name>/config`` takes it: the shared
        PostgreSQL connector config (:mod:`eventyard.kafka.connect`) with the EventRouter's keys
        on top, then ``extra``."""
        t = self.table
        tables = [f"{t.schema}.{t.name}"]
        if self.heartbeat_table:
            tables.append(f"{t.schema}.{t.heartbeat_table}")
        config = postgres_connector_config(
            dsn=self.dsn,
            slot=self.slot_name,
            publication=self.publication_name,
            tables=tables,
            topic_prefix=self.topic_prefix,
            snapshot_mode="no_data",
            converters=_PASS_THROUGH_CONVERTERS,
            heartbeat_interval_ms=self.heartbeat_interval_ms,
            poll_interval_ms=self.poll_interval_ms,
            topic_partitions=self.topic_partitions,
            topic_replication_factor=self.topic_replication_factor,
        )
        config.update(self._event_router_keys())
        config.update(self.extra)
        return config

    def _event_router_keys(self) -> dict[str, str]:
        """The outbox's own keys: the EventRouter applied to the outbox table's records only,
        the relay's columns left out, no tombstones, and the heartbeat table's upsert."""
        t = self.table
        keys = {
            "tombstones.on.delete": "false",
            "extended.headers.enabled": "false",
            "column.exclude.list": ",".join(f"{t.schema}.{t.name}.{c}" for c in _RELAY_COLUMNS),
            "transforms": "outbox",
            "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
            "transforms.outbox.predicate": "isOutboxTable",
            "transforms.outbox.table.field.event.id": "id",
            "transforms.outbox.table.field.event.key": "aggregateid",
            "transforms.outbox.table.field.event.payload": "payload",
            "transforms.outbox.route.by.field": "aggregatetype",
            "transforms.outbox.route.topic.replacement": self.router.debezium_replacement,
            "transforms.outbox.table.fields.additional.placement": ",".join(
                f"{column}:header:{header}" for column, header in _HEADER_COLUMNS
            ),
            "predicates": "isOutboxTable",
            "predicates.isOutboxTable.type": (
                "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
            ),
            "predicates.isOutboxTable.pattern": re.escape(self.source_topic),
        }
        if self.heartbeat_table:
            heartbeat = f'"{t.schema}"."{t.heartbeat_table}"'
            # Identifiers come from OutboxTable, which admits plain identifiers only.
            upsert = "INSERT INTO {} (id, beat_at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE"
            keys["heartbeat.action.query"] = (
                upsert.format(heartbeat) + " SET beat_at = excluded.beat_at"
            )
        return keys

    # ---------------------------------------------------------------- Connect REST

    def register(self, connect_url: str, *, timeout_s: float = 90.0) -> None:
        """Create or update the connector on a Connect worker, and wait until it runs."""
        try:
            with ConnectClient(connect_url) as connect:
                connect.put(self.name, self.config())
                connect.wait_running(self.name, timeout_s)
        except ConnectError as error:
            raise ConnectorError(str(error)) from error

    def unregister(self, connect_url: str) -> None:
        """Delete the connector (its replication slot stays; drop it once nothing uses it)."""
        try:
            with ConnectClient(connect_url) as connect:
                connect.delete(self.name)
        except ConnectError as error:
            raise ConnectorError(str(error)) from error
