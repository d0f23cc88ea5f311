"""Kafka Connect for the stack's users: the shared client and connector config of
:mod:`eventyard.kafka.connect` under this package's names, and dropping a replication slot."""

from __future__ import annotations

import time

import psycopg

from eventyard.kafka import connect
from eventyard.stack._errors import StackError

__all__ = [
    "ConnectClient",
    "ConnectorFailed",
    "drop_replication_slot",
    "postgres_connector_config",
]


class ConnectorFailed(StackError, connect.ConnectError):
    """Kafka Connect refused a request or cannot be reached, or a connector or one of its tasks
    failed or did not run in time (a :class:`~eventyard.kafka.connect.ConnectError` too)."""


class ConnectClient(connect.ConnectClient):
    """:class:`eventyard.kafka.connect.ConnectClient`, raising :class:`ConnectorFailed`."""

    error_type = ConnectorFailed


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
    """:func:`eventyard.kafka.connect.postgres_connector_config` for ``tables`` (``schema.table``)
    of ``pg_dsn``, with topic prefix ``prefix`` and replication slot ``slot``; ``extra`` adds or
    overrides keys."""
    return connect.postgres_connector_config(
        dsn=pg_dsn, topic_prefix=prefix, slot=slot, tables=tables, extra=extra
    )
