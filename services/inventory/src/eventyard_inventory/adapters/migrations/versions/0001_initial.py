"""Products, stock reservations, and the outbox, inbox and saga participant tables.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from eventyard.outbox import InboxTable, OutboxTable, create_outbox_schema, drop_outbox_schema
from eventyard.saga import SagaTables, create_saga_schema, drop_saga_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("sku", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False, server_default="0"),
        sa.Column("traceparent", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("price >= 0", name="products_price_check"),
        sa.CheckConstraint("stock >= 0", name="products_stock_check"),
        sa.CheckConstraint("reserved >= 0 AND reserved <= stock", name="products_reserved_check"),
    )
    op.create_table(
        "stock_reservations",
        sa.Column("order_id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.Text, sa.ForeignKey("products.sku"), primary_key=True),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("traceparent", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("quantity > 0", name="stock_reservations_quantity_check"),
    )
    create_outbox_schema(op, outbox=OutboxTable(), inbox=InboxTable())
    create_saga_schema(op, tables=SagaTables(), orchestrator=False, participant=True)


def downgrade() -> None:
    drop_saga_schema(op, tables=SagaTables())
    drop_outbox_schema(op, outbox=OutboxTable(), inbox=InboxTable())
    op.drop_table("stock_reservations")
    op.drop_table("products")
