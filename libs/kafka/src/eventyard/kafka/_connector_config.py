"""The Debezium PostgreSQL connector's config, built in one place (pure: no I/O).

The choices every Eventyard connector shares: ``pgoutput`` with a ``filtered`` publication that
Debezium creates for the streamed tables only (a user with ``REPLICATION`` that owns them will
do, no superuser), one task, heartbeats so the replication slot moves on while the tables are
quiet, and the JSON converter with schemas (the decoder of :mod:`eventyard.cdc` takes the column
types from them) unless the caller picks other converters.

Where the database is: keyword arguments win over the DSN's parts, and the DSN's parts over the
defaults (port 5432, user ``postgres``, no password, database named like the user, as libpq
does). The host has one fallback: a DSN without a TCP host (no host, an empty one, or a
Unix-socket directory such as ``/var/run/postgresql``) gives its ``hostaddr`` if it has one,
else ``127.0.0.1``. Debezium's JDBC driver connects over TCP only, from the Connect worker, so a
local server reached through a socket is reached through the loopback address. Of a multi-host
DSN (``host=a,b``) the first host is taken.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import psycopg

__all__ = [
    "JSON_CONVERTERS",
    "POSTGRES_CONNECTOR_CLASS",
    "postgres_connector_config",
    "slot_name_for",
]

POSTGRES_CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector"

_JSON = "org.apache.kafka.connect.json.JsonConverter"

#: Keys and values as JSON with their Connect schemas: what :mod:`eventyard.cdc` decodes best.
JSON_CONVERTERS: Mapping[str, str] = MappingProxyType(
    {
        "key.converter": _JSON,
        "key.converter.schemas.enable": "true",
        "value.converter": _JSON,
        "value.converter.schemas.enable": "true",
    }
)

_SLOT = re.compile(r"[a-z0-9_]{1,63}")
_TOPIC_PREFIX = re.compile(r"[A-Za-z0-9_.-]+")
_LOOPBACK = "127.0.0.1"


def slot_name_for(connector_name: str) -> str:
    """A replication slot name for a connector: lower case, each character PostgreSQL does not
    allow in a slot name (``[a-z0-9_]``) made ``_``, at most 63 characters."""
    return re.sub(r"[^a-z0-9_]", "_", connector_name.lower())[:63]


def postgres_connector_config(
    *,
    topic_prefix: str,
    tables: Sequence[str],
    name: str | None = None,
    slot: str | None = None,
    publication: str | None = None,
    dsn: str | None = None,
    host: str | None = None,
    port: int | str | None = None,
    user: str | None = None,
    password: str | None = None,
    dbname: str | None = None,
    snapshot_mode: str = "initial",
    converters: Mapping[str, str] | None = JSON_CONVERTERS,
    heartbeat_interval_ms: int | None = 1000,
    poll_interval_ms: int | None = None,
    topic_partitions: int | None = None,
    topic_replication_factor: int = -1,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A Debezium PostgreSQL connector config, as ``PUT /connectors/<name>/config`` takes it.

    - ``tables``: ``schema.table`` names, streamed to ``<topic_prefix>.<schema>.<table>``. Each
      is regex-escaped in ``table.include.list`` (Debezium reads it as regular expressions, and
      an unescaped ``public.orders`` would also match ``public_orders``).
    - ``slot``: the replication slot (``[a-z0-9_]``, up to 63 characters); without it, derived
      from the connector's ``name`` by :func:`slot_name_for`. One of the two is needed.
    - ``publication``: defaults to ``<slot>_pub``.
    - ``dsn`` and ``host``/``port``/``user``/``password``/``dbname``: where the database is, as
      Connect's machine sees it (see the module's docs for the defaults and the host fallback).
    - ``snapshot_mode``: ``initial`` (existing rows first), ``no_data`` (changes from now on), ...
    - ``converters``: the ``*.converter*`` keys; None leaves them to the worker.
    - ``heartbeat_interval_ms``, ``poll_interval_ms``: None leaves Debezium's default.
    - ``topic_partitions``: when given, Connect creates the topics with that many partitions and
      ``topic_replication_factor`` (-1: the broker's default).
    - ``extra``: further keys, added last (they override).

    A wrong slot, topic prefix or table name raises :class:`ValueError`.
    """
    slot = slot or (slot_name_for(name) if name else None)
    if slot is None:
        raise ValueError("postgres_connector_config needs a slot or a connector name")
    if not _SLOT.fullmatch(slot):
        raise ValueError(f"slot name {slot!r}: lower-case letters, digits, '_', up to 63")
    if not _TOPIC_PREFIX.fullmatch(topic_prefix):
        raise ValueError(f"topic prefix {topic_prefix!r}: letters, digits, '._-' only")
    if not tables:
        raise ValueError("no tables to stream")
    for table in tables:
        if "." not in table:
            raise ValueError(f"table {table!r}: name it as schema.table (public.{table})")
    info: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(dsn) if dsn else {}
    user = user or _first(info.get("user")) or "postgres"
    config: dict[str, str] = {
        "connector.class": POSTGRES_CONNECTOR_CLASS,
        "tasks.max": "1",
        "plugin.name": "pgoutput",
        "database.hostname": host or _tcp_host(info),
        "database.port": str(port or _first(info.get("port")) or 5432),
        "database.user": user,
        "database.password": str(password if password is not None else info.get("password", "")),
        "database.dbname": dbname or _first(info.get("dbname")) or user,
        "topic.prefix": topic_prefix,
        "table.include.list": ",".join(re.escape(table) for table in tables),
        "slot.name": slot,
        "publication.name": publication or f"{slot}_pub"[:63],
        "publication.autocreate.mode": "filtered",
        "snapshot.mode": snapshot_mode,
    }
    if heartbeat_interval_ms is not None:
        config["heartbeat.interval.ms"] = str(heartbeat_interval_ms)
    if poll_interval_ms is not None:
        config["poll.interval.ms"] = str(poll_interval_ms)
    if topic_partitions is not None:
        config["topic.creation.default.partitions"] = str(topic_partitions)
        config["topic.creation.default.replication.factor"] = str(topic_replication_factor)
    config.update(converters or {})
    config.update(extra or {})
    return config


def _first(value: object) -> str:
    """The first of a libpq multi-value setting (``a,b``); '' for none."""
    return "" if value is None else str(value).split(",")[0].strip()


def _tcp_host(info: Mapping[str, Any]) -> str:
    """The host Debezium connects to: the DSN's first TCP host, its hostaddr, or the loopback."""
    host = _first(info.get("host"))
    if host and not host.startswith(("/", "@")):  # a socket directory, or Linux's abstract one
        return host
    return _first(info.get("hostaddr")) or _LOOPBACK
