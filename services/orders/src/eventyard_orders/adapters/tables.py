"""The orders table (SQLAlchemy Core) and where the outbox, inbox and saga tables live.

The migrations create them; the names here must match (``versions/0001_initial.py``).
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from eventyard.outbox import InboxTable, OutboxTable
from eventyard.saga import SagaTables

__all__ = ["INBOX", "OUTBOX", "SAGA", "metadata", "orders"]

OUTBOX: Final = OutboxTable()
INBOX: Final = InboxTable()
SAGA: Final = SagaTables()

metadata = sa.MetaData()

orders = sa.Table(
    "orders",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("total", sa.BigInteger),
    sa.Column("lines", JSONB, nullable=False),
    sa.Column("idempotency_key", sa.Text, unique=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("traceparent", sa.Text),
    sa.Column("trace_id", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)
"""One row per order; ``traceparent`` is the context of the transaction that last changed it."""
