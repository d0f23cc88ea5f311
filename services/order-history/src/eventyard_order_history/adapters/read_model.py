"""Reading the read model (the projection's ``customer_orders`` table) with SQLAlchemy."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa

from eventyard_order_history.domain.model import CustomerOrder

__all__ = ["ReadModel"]


class ReadModel:
    """Queries on the read model in PostgreSQL schema ``schema``."""

    def __init__(self, schema: str) -> None:
        self._customer_orders = sa.Table(
            "customer_orders",
            sa.MetaData(schema=schema),
            sa.Column("order_id", sa.Uuid, primary_key=True),
            sa.Column("customer_id", sa.Uuid),
            sa.Column("customer_name", sa.Text),
            sa.Column("status", sa.Text),
            sa.Column("total", sa.BigInteger),
            sa.Column("created_at", sa.DateTime(timezone=True)),
        )

    def customer_orders(self, conn: sa.Connection, customer_id: UUID) -> list[CustomerOrder]:
        """The customer's orders, oldest first."""
        table = self._customer_orders
        rows = conn.execute(
            sa.select(table.c.order_id, table.c.customer_name, table.c.status, table.c.total)
            .where(table.c.customer_id == customer_id)
            .order_by(table.c.created_at, table.c.order_id)
        )
        return [
            CustomerOrder(
                order_id=row.order_id,
                customer_name=row.customer_name,
                status=row.status,
                total=row.total,
            )
            for row in rows
        ]
