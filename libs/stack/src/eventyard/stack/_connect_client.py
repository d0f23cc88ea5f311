"""A small client of Kafka Connect's REST API, for registering Debezium connectors."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg

from eventyard.stack._errors import StackError

__all__ = [
    "ConnectClient",
    "ConnectorFailed",
    "drop_replication_slot",
    "postgres_connector_config",
]


class ConnectorFailed(StackError):
    """A connector or one of its tasks failed, or did not run in time."""


class ConnectClient:
    """Create, watch and delete connectors on one Connect worker."""

    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        self._http = httpx.Client(base_url=url, timeout=timeout_s)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def put(self, name: str, config: dict[str, Any]) -> None:
        """Create ``name`` or replace its config; Connect's validation errors are raised."""
        response = self._http.put(f"/connectors/{name}/config", json=config)
        if response.status_code not in {200, 201}:
            raise ConnectorFailed(f"connector {name}: {response.status_code} {response.text}")

    def status(self, name: str) -> dict[str, Any] | None:
        """The connector's status document, or None when it does not exist."""
        response = self._http.get(f"/connectors/{name}/status")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        document: dict[str, Any] = response.json()
        return document

    def wait_running(self, name: str, timeout_s: float = 90.0) -> None:
        """Wait until the connector and all its tasks run; raise with the trace if one failed."""
        deadline = time.monotonic() + timeout_s
        last: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            try:
                last = self.status(name)
            except httpx.HTTPError:
                last = None  # the worker may be restarting
            if last is not None:
                states = {t["state"] for t in last.get("tasks", [])}
                if "FAILED" in states or last["connector"]["state"] == "FAILED":
                    raise ConnectorFailed(f"connector {name} failed: {last}")
                if last["connector"]["state"] == "RUNNING" and states == {"RUNNING"}:
                    return
            time.sleep(0.5)
        raise ConnectorFailed(f"connector {name} not running after {timeout_s:.0f} s: {last}")

    def delete(self, name: str) -> None:
        """Delete the connector if it exists."""
        response = self._http.delete(f"/connectors/{name}")
        if response.status_code not in {204, 404}:
            response.raise_for_status()


def drop_replication_slot(pg_dsn: str, slot: str, timeout_s: float = 30.0) -> None:
    """Drop a logical replication slot once no connector holds it (it keeps WAL otherwise)."""
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT active FROM pg_replication_slots WHERE slot_name = %s", (slot,)
            ).fetchone()
            if row is None:
                return
            if not row[0]:
                conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
                return
            time.sleep(0.2)
    raise StackError(f"replication slot {slot} still in use after {timeout_s:.0f} s")


def postgres_connector_config(
    pg_dsn: str, *, prefix: str, slot: str, tables: list[str], **extra: str
) -> dict[str, str]:
    """A Debezium PostgreSQL connector config streaming ``tables`` (``schema.table``) of ``pg_dsn``.

    pgoutput with a filtered publication (no superuser needed), heartbeats every second so the
    slot never holds WAL back; ``extra`` adds or overrides keys.
    """
    info = psycopg.conninfo.conninfo_to_dict(pg_dsn)
    return {
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "plugin.name": "pgoutput",
        "database.hostname": str(info.get("host", "127.0.0.1")),
        "database.port": str(info.get("port", 5432)),
        "database.user": str(info.get("user", "postgres")),
        "database.password": str(info.get("password", "")),
        "database.dbname": str(info.get("dbname", "postgres")),
        "topic.prefix": prefix,
        "slot.name": slot,
        "publication.name": f"{slot}_pub",
        "publication.autocreate.mode": "filtered",
        "table.include.list": ",".join(tables),
        "heartbeat.interval.ms": "1000",
        "tasks.max": "1",
        **extra,
    }
