"""The read model: mirrors of the source ``orders`` and ``customers`` tables, and
``customer_orders``, derived from both, that ``GET /customers/{id}/orders`` reads.

The mirrors keep each row's source LSN, so a Debezium replay never moves a row back.
``customer_orders`` is recomputed from the mirrors for the keys a batch touched (after the
mirror's own handler, in the same transaction), never incremented, so replays and the two
tables' arrival in any order converge to the same rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql

from eventyard.cdc import ApplyContext, ChangeEvent, Projection, TableEvent

__all__ = ["CUSTOMERS_TABLE", "ORDERS_TABLE", "build_projection"]

ORDERS_TABLE = "public.orders"
CUSTOMERS_TABLE = "public.customers"

_ORDERS = """
CREATE TABLE {table} (
    id uuid PRIMARY KEY,
    customer_id uuid,
    status text,
    reason text,
    total bigint,
    lines jsonb,
    created_at timestamptz,
    updated_at timestamptz,
    traceparent text,
    trace_id text,
    _lsn bigint
);
CREATE INDEX ON {table} (customer_id)
"""
_CUSTOMERS = """
CREATE TABLE {table} (
    id uuid PRIMARY KEY,
    name text,
    credit_limit bigint,
    credit_reserved bigint,
    _lsn bigint
)
"""
_CUSTOMER_ORDERS = """
CREATE TABLE {table} (
    order_id uuid PRIMARY KEY,
    customer_id uuid NOT NULL,
    customer_name text,
    status text,
    total bigint,
    created_at timestamptz,
    applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ON {table} (customer_id, created_at)
"""


def build_projection(name: str = "order-history") -> Projection:
    """The projection: its three tables and the handlers of both source tables."""
    projection = Projection(
        name,
        tables={"orders": _ORDERS, "customers": _CUSTOMERS, "customer_orders": _CUSTOMER_ORDERS},
    )
    projection.mirror(ORDERS_TABLE, into="orders", key=["id"], lsn_column="_lsn")
    projection.mirror(CUSTOMERS_TABLE, into="customers", key=["id"], lsn_column="_lsn")
    projection.add(ORDERS_TABLE, derive_for_orders)
    projection.add(CUSTOMERS_TABLE, derive_for_customers)
    return projection


def _touched(events: Sequence[TableEvent]) -> list[str] | None:
    """The ids the events changed; None after a truncate (everything changed)."""
    ids: dict[str, None] = {}
    for event in events:
        if not isinstance(event, ChangeEvent):
            return None
        key = event.key or event.row
        if "id" in key:
            ids[str(key["id"])] = None
    return list(ids)


def derive_for_orders(ctx: ApplyContext, events: Sequence[TableEvent]) -> None:
    """Recompute the ``customer_orders`` rows of the orders the batch touched."""
    ids = _touched(events)
    where = sql.SQL("true") if ids is None else sql.SQL("order_id = ANY(%(ids)s::uuid[])")
    ctx.conn.execute(
        sql.SQL("DELETE FROM {} WHERE {}").format(ctx.table("customer_orders"), where),
        {"ids": ids},
    )
    ctx.conn.execute(
        sql.SQL(
            "INSERT INTO {co} (order_id, customer_id, customer_name, status, total, created_at)"
            " SELECT o.id, o.customer_id, c.name, o.status, o.total, o.created_at"
            " FROM {o} AS o LEFT JOIN {c} AS c ON c.id = o.customer_id"
            " WHERE o.customer_id IS NOT NULL AND {where}"
        ).format(
            co=ctx.table("customer_orders"),
            o=ctx.table("orders"),
            c=ctx.table("customers"),
            where=sql.SQL("true") if ids is None else sql.SQL("o.id = ANY(%(ids)s::uuid[])"),
        ),
        {"ids": ids},
    )


def derive_for_customers(ctx: ApplyContext, events: Sequence[TableEvent]) -> None:
    """Give the touched customers' orders their customers' names (None for a deleted one)."""
    ids = _touched(events)
    where = sql.SQL("true") if ids is None else sql.SQL("co.customer_id = ANY(%(ids)s::uuid[])")
    ctx.conn.execute(
        sql.SQL(
            "UPDATE {co} AS co SET customer_name = c.name"
            " FROM {co} AS cur LEFT JOIN {c} AS c ON c.id = cur.customer_id"
            " WHERE cur.order_id = co.order_id AND {where}"
            " AND co.customer_name IS DISTINCT FROM c.name"
        ).format(co=ctx.table("customer_orders"), c=ctx.table("customers"), where=where),
        {"ids": ids},
    )
