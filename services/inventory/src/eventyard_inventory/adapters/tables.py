"""The service's business tables (the outbox, inbox and saga tables come from the libraries)."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata", "products", "stock_reservations"]

metadata = sa.MetaData()

products = sa.Table(
    "products",
    metadata,
    sa.Column("sku", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("reserved", sa.Integer, nullable=False, server_default="0"),
    sa.Column("traceparent", sa.Text),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)

stock_reservations = sa.Table(
    "stock_reservations",
    metadata,
    sa.Column("order_id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.Text, sa.ForeignKey("products.sku"), primary_key=True),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("traceparent", sa.Text),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)
