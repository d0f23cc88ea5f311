"""Whether a connector's source table exists yet (the orders and customers services create
their databases and tables; order-history may start first)."""

from __future__ import annotations

import psycopg

from eventyard.service import with_database
from eventyard_order_history.adapters.debezium import ConnectorSpec

__all__ = ["source_problem"]


def source_problem(server_dsn: str, spec: ConnectorSpec, *, timeout_s: float = 5.0) -> str | None:
    """None when ``spec``'s table exists; else what is missing, for ``/readyz``."""
    dsn = with_database(server_dsn, spec.database)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=max(1, int(timeout_s))) as conn:
            row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (spec.table,)).fetchone()
    except psycopg.OperationalError as error:
        if f'database "{spec.database}" does not exist' in str(error):
            return f"database {spec.database} does not exist yet"
        return f"database {spec.database} unreachable: {_first_line(error)}"
    if row is None or not row[0]:
        return f"table {spec.table} does not exist yet in {spec.database}"
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
