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
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from eventyard.outbox._exceptions import ConfigurationError, ConnectorError
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
            raise ConfigurationError(f"connector name {self.name!r}: letters, digits, '._-' only")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.topic_prefix):
            raise ConfigurationError(f"topic prefix {self.topic_prefix!r} is not a topic name part")
        for value, what in ((self.slot, "slot"), (self.publication, "publication")):
            if value is not None and not re.fullmatch(r"[a-z0-9_]{1,63}", value):
                raise ConfigurationError(f"{what} name {value!r}: lower-case letters, digits, '_'")

    @property
    def slot_name(self) -> str:
        """The replication slot (PostgreSQL allows ``[a-z0-9_]``)."""
        return self.slot or re.sub(r"[^a-z0-9_]", "_", self.name.lower())[:63]

    @property
    def publication_name(self) -> str:
        """The publication Debezium creates for the outbox (and heartbeat) table."""
        return self.publication or f"{self.slot_name}_pub"[:63]

    @property
    def source_topic(self) -> str:
        """The topic Debezium would give the outbox table's change events (the SMT's input)."""
        return f"{self.topic_prefix}.{self.table.schema}.{self.table.name}"

    def config(self) -> dict[str, str]:
        """The connector config, as ``PUT /connectors/<name>/config`` takes it."""
        info = psycopg.conninfo.conninfo_to_dict(self.dsn)
        t = self.table
        tables = [f"{t.schema}.{t.name}"]
        placement = ",".join(
            f"{column}:header:{header}"
            for column, header in (
                ("type", HEADER_EVENT_TYPE),
                ("aggregatetype", HEADER_AGGREGATE_TYPE),
                ("contenttype", HEADER_CONTENT_TYPE),
                ("traceparent", HEADER_TRACEPARENT),
                ("tracestate", HEADER_TRACESTATE),
                ("headers", HEADER_EXTRA),
            )
        )
        config: dict[str, str] = {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "tasks.max": "1",
            "database.hostname": str(info.get("host") or "127.0.0.1"),
            "database.port": str(info.get("port") or 5432),
            "database.user": str(info.get("user") or "postgres"),
            "database.password": str(info.get("password") or ""),
            "database.dbname": str(info.get("dbname") or "postgres"),
            "topic.prefix": self.topic_prefix,
            "plugin.name": "pgoutput",
            "slot.name": self.slot_name,
            "publication.name": self.publication_name,
            "publication.autocreate.mode": "filtered",
            "snapshot.mode": "no_data",
            "tombstones.on.delete": "false",
            "extended.headers.enabled": "false",
            "poll.interval.ms": str(self.poll_interval_ms),
            "heartbeat.interval.ms": str(self.heartbeat_interval_ms),
            "column.exclude.list": ",".join(f"{t.schema}.{t.name}.{c}" for c in _RELAY_COLUMNS),
            "topic.creation.default.replication.factor": str(self.topic_replication_factor),
            "topic.creation.default.partitions": str(self.topic_partitions),
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "io.debezium.converters.BinaryDataConverter",
            "value.converter.delegate.converter.type": (
                "org.apache.kafka.connect.json.JsonConverter"
            ),
            "value.converter.delegate.converter.type.schemas.enable": "false",
            "header.converter": "org.apache.kafka.connect.storage.SimpleHeaderConverter",
            "transforms": "outbox",
            "transforms.outbox.type": "io.debezium.transforms.outbox.EventRouter",
            "transforms.outbox.predicate": "isOutboxTable",
            "transforms.outbox.table.field.event.id": "id",
            "transforms.outbox.table.field.event.key": "aggregateid",
            "transforms.outbox.table.field.event.payload": "payload",
            "transforms.outbox.route.by.field": "aggregatetype",
            "transforms.outbox.route.topic.replacement": self.router.debezium_replacement,
            "transforms.outbox.table.fields.additional.placement": placement,
            "predicates": "isOutboxTable",
            "predicates.isOutboxTable.type": (
                "org.apache.kafka.connect.transforms.predicates.TopicNameMatches"
            ),
            "predicates.isOutboxTable.pattern": re.escape(self.source_topic),
        }
        if self.heartbeat_table:
            heartbeat = f'"{t.schema}"."{t.heartbeat_table}"'
            tables.append(f"{t.schema}.{t.heartbeat_table}")
            # Identifiers come from OutboxTable, which admits plain identifiers only.
            upsert = "INSERT INTO {} (id, beat_at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE"
            config["heartbeat.action.query"] = (
                upsert.format(heartbeat) + " SET beat_at = excluded.beat_at"
            )
        config["table.include.list"] = ",".join(re.escape(name) for name in tables)
        config.update(self.extra)
        return config

    # ---------------------------------------------------------------- Connect REST

    def register(self, connect_url: str, *, timeout_s: float = 90.0) -> None:
        """Create or update the connector on a Connect worker, and wait until it runs."""
        with httpx.Client(base_url=connect_url, timeout=30.0) as http:
            try:
                response = http.put(f"/connectors/{self.name}/config", json=self.config())
            except httpx.HTTPError as error:
                raise ConnectorError(f"Kafka Connect at {connect_url}: {error}") from error
            if response.status_code not in {200, 201}:
                raise ConnectorError(
                    f"Kafka Connect refused connector {self.name}: "
                    f"{response.status_code} {response.text}"
                )
            self._wait_running(http, timeout_s)

    def _wait_running(self, http: httpx.Client, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            try:
                response = http.get(f"/connectors/{self.name}/status")
                last = response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                last = None  # the worker may be restarting
            if last is not None:
                tasks = last.get("tasks", [])
                states = {task.get("state") for task in tasks}
                if "FAILED" in states or last.get("connector", {}).get("state") == "FAILED":
                    traces = [task.get("trace", "") for task in tasks]
                    raise ConnectorError(f"connector {self.name} failed: {traces or last}")
                if last.get("connector", {}).get("state") == "RUNNING" and states == {"RUNNING"}:
                    return
            time.sleep(0.5)
        raise ConnectorError(f"connector {self.name} not running after {timeout_s:.0f} s: {last}")

    def unregister(self, connect_url: str) -> None:
        """Delete the connector (its replication slot stays; drop it once nothing uses it)."""
        with httpx.Client(base_url=connect_url, timeout=30.0) as http:
            try:
                response = http.delete(f"/connectors/{self.name}")
            except httpx.HTTPError as error:
                raise ConnectorError(f"Kafka Connect at {connect_url}: {error}") from error
            if response.status_code not in {204, 404}:
                raise ConnectorError(
                    f"could not delete connector {self.name}: "
                    f"{response.status_code} {response.text}"
                )
