"""Wiring: settings -> store (PostgreSQL, migrated; or the one given) -> registry, in one place."""

from __future__ import annotations

import sqlalchemy as sa

from eventyard.schemas import CompatibilityLevel
from eventyard_schema_registry.adapters.engine import make_engine
from eventyard_schema_registry.adapters.migrations import migrate
from eventyard_schema_registry.adapters.sql import SqlStore, reason
from eventyard_schema_registry.adapters.urls import describe, to_url
from eventyard_schema_registry.domain.errors import StoreError
from eventyard_schema_registry.service_layer.ports import Store
from eventyard_schema_registry.service_layer.registry import Registry
from eventyard_schema_registry.settings import Settings

__all__ = ["bootstrap"]


def bootstrap(settings: Settings, *, store: Store | None = None) -> Registry:
    """A ready registry: its use cases wired over ``store``, by default PostgreSQL's.

    Without ``store``, connect to ``settings.dsn`` and create the tables; raises
    :class:`StoreError` naming the server when there is no DSN or it cannot be reached. Tests
    pass an in-memory store (``adapters.memory.MemoryStore``) and get the same wiring.
    """
    chosen = _sql_store(settings) if store is None else store
    return Registry(chosen, default_level=CompatibilityLevel(settings.default_compatibility))


def _sql_store(settings: Settings) -> SqlStore:
    if not settings.dsn:
        raise StoreError(
            "no database: set EVENTYARD_REGISTRY_DSN (or pass --dsn) to a PostgreSQL URL or DSN"
        )
    try:
        url = to_url(settings.dsn)
    except (ValueError, sa.exc.ArgumentError) as error:
        raise StoreError(f"unusable database DSN: {error}") from None
    engine = make_engine(
        settings.dsn,
        db_schema=settings.db_schema,
        pool_size=settings.pool_size,
        connect_timeout_s=settings.connect_timeout_s,
    )
    try:
        migrate(engine, db_schema=settings.db_schema)
    except sa.exc.SQLAlchemyError as error:
        engine.dispose()
        raise StoreError(f"cannot use PostgreSQL at {describe(url)}: {reason(error)}") from None
    return SqlStore(engine, db_schema=settings.db_schema)
