"""Customers, credit reservations, and the outbox, inbox and saga participant tables.

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
        "customers",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("credit_limit", sa.BigInteger, nullable=False),
        sa.Column("credit_reserved", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("traceparent", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("credit_limit >= 0", name="customers_credit_limit_check"),
        sa.CheckConstraint(
            "credit_reserved >= 0 AND credit_reserved <= credit_limit",
            name="customers_credit_reserved_check",
        ),
    )
    op.create_table(
        "credit_reservations",
        sa.Column("order_id", sa.Uuid, primary_key=True),
        sa.Column("customer_id", sa.Uuid, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("traceparent", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("amount >= 0", name="credit_reservations_amount_check"),
    )
    op.create_index("credit_reservations_customer_id", "credit_reservations", ["customer_id"])
    create_outbox_schema(op, outbox=OutboxTable(), inbox=InboxTable())
    create_saga_schema(op, tables=SagaTables(), orchestrator=False, participant=True)


def downgrade() -> None:
    drop_saga_schema(op, tables=SagaTables())
    drop_outbox_schema(op, outbox=OutboxTable(), inbox=InboxTable())
    op.drop_table("credit_reservations")
    op.drop_table("customers")
