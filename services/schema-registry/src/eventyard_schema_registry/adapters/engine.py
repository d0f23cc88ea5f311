"""Engines for the registry: psycopg 3, pooled, mapped into the registry's own schema."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eventyard_schema_registry.adapters.urls import to_url

__all__ = ["make_engine"]


def make_engine(
    dsn: str, *, db_schema: str, pool_size: int = 10, connect_timeout_s: float = 5.0
) -> Engine:
    """An engine for ``dsn`` whose unqualified tables live in the PostgreSQL schema ``db_schema``.

    Nothing connects until first use.
    """
    engine = sa.create_engine(
        to_url(dsn),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": max(1, round(connect_timeout_s)),
            "application_name": "eventyard-schema-registry",
        },
    )
    return engine.execution_options(schema_translate_map={None: db_schema})
