"""The orders table, the outbox and inbox, and the order saga's orchestrator tables.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from eventyard.outbox import InboxTable, OutboxTable, create_outbox_schema, drop_outbox_schema
from eventyard.saga import SagaTables, create_saga_schema, drop_saga_schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("customer_id", sa.Uuid, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("total", sa.BigInteger),
        sa.Column("lines", JSONB, nullable=False),
        sa.Column("idempotency_key", sa.Text),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("traceparent", sa.Text),
        sa.Column("trace_id", sa.Text),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("statement_timestamp()"),
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.text("statement_timestamp()"),
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("status IN ('PENDING', 'APPROVED', 'REJECTED')", name="orders_status"),
        sa.CheckConstraint("total IS NULL OR total >= 0", name="orders_total"),
        sa.UniqueConstraint("idempotency_key", name="orders_idempotency_key"),
    )
    op.create_index("orders_customer", "orders", ["customer_id", sa.text("created_at DESC")])
    create_outbox_schema(op, outbox=OutboxTable(), inbox=InboxTable())
    create_saga_schema(op, tables=SagaTables())


def downgrade() -> None:
    drop_saga_schema(op, tables=SagaTables())
    drop_outbox_schema(op, outbox=OutboxTable(), inbox=InboxTable())
    op.drop_table("orders")
