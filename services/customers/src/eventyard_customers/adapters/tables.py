"""The service's business tables (the outbox, inbox and saga tables come from the libraries)."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["credit_reservations", "customers", "metadata"]

metadata = sa.MetaData()

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("credit_limit", sa.BigInteger, nullable=False),
    sa.Column("credit_reserved", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("traceparent", sa.Text),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

credit_reservations = sa.Table(
    "credit_reservations",
    metadata,
    sa.Column("order_id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, sa.ForeignKey("customers.id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("traceparent", sa.Text),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)
