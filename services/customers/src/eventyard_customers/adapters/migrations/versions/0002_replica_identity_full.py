"""``customers`` rows are streamed by Debezium with their whole before-image.

With the default replica identity, a delete's before-image carries only the key, and
Debezium fills every other NOT NULL column with an empty value that a uuid or timestamp
column cannot hold; the order-history projection then sets the change aside as poison.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE customers REPLICA IDENTITY FULL")


def downgrade() -> None:
    op.execute("ALTER TABLE customers REPLICA IDENTITY DEFAULT")
