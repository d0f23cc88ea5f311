"""The registry's tables (SQLAlchemy Core), in a PostgreSQL schema of their own.

The tables carry no schema name: the engine maps them into the configured one with
``schema_translate_map``, so several registries (or other services) can share one database.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["configs", "metadata", "modes", "schema_references", "schemas", "subject_versions"]

metadata = sa.MetaData()

schemas = sa.Table(
    "schemas",
    metadata,
    sa.Column("id", sa.Integer, sa.Identity(start=1), primary_key=True),
    sa.Column("fingerprint", sa.Text, nullable=False, unique=True),
    sa.Column("schema_type", sa.Text, nullable=False),
    sa.Column("schema", sa.Text, nullable=False),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
)
"""Every schema ever registered, once, under its global id (kept after its versions go)."""

schema_references = sa.Table(
    "schema_references",
    metadata,
    sa.Column(
        "schema_id", sa.Integer, sa.ForeignKey("schemas.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("schema_references_target", "subject", "version"),
)
"""The references of a schema, in the order the client gave them."""

subject_versions = sa.Table(
    "subject_versions",
    metadata,
    sa.Column("subject", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("schema_id", sa.Integer, sa.ForeignKey("schemas.id"), nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    sa.Index("subject_versions_schema", "schema_id"),
)
"""Versions of subjects; a soft-deleted version keeps its row with ``deleted`` set."""

configs = sa.Table(
    "configs",
    metadata,
    sa.Column("subject", sa.Text, primary_key=True, comment="'' is the global setting"),
    sa.Column("compatibility", sa.Text, nullable=False),
)

modes = sa.Table(
    "modes",
    metadata,
    sa.Column("subject", sa.Text, primary_key=True, comment="'' is the global setting"),
    sa.Column("mode", sa.Text, nullable=False),
)
