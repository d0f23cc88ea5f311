"""Creating the registry's schema and tables at start-up: idempotent, safe to run concurrently."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eventyard_schema_registry.adapters.tables import metadata

__all__ = ["migrate"]


def migrate(engine: Engine, *, db_schema: str) -> None:
    """Create the schema ``db_schema`` and every missing table in it.

    A transaction-scoped advisory lock makes registries that start together take turns.
    """
    key = f"eventyard_schema_registry:migrate:{db_schema}"
    with engine.begin() as connection:
        connection.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(key, 0)))
        )
        connection.execute(sa.schema.CreateSchema(db_schema, if_not_exists=True))
        metadata.create_all(connection, checkfirst=True)
