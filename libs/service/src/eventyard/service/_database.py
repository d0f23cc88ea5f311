"""The service's own database: created when missing, migrated with Alembic, one engine."""

from __future__ import annotations

from pathlib import Path

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from psycopg import sql

from eventyard.service._settings import with_database

__all__ = ["describe", "ensure_database", "make_engine", "migrate", "sa_url"]

_MIGRATION_LOCK = 0x6576_7479_6172_64  # pg_advisory_lock key: one migration at a time per database


def sa_url(dsn: str) -> sa.URL:
    """A SQLAlchemy URL (psycopg 3 driver) for a libpq DSN or URL."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return sa.URL.create(
        "postgresql+psycopg",
        username=str(info["user"]) if info.get("user") else None,
        password=str(info["password"]) if info.get("password") else None,
        host=str(info["host"]) if info.get("host") else None,
        port=int(str(info["port"])) if info.get("port") else None,
        database=str(info["dbname"]) if info.get("dbname") else None,
    )


def describe(dsn: str) -> str:
    """``host:port/dbname`` of a DSN, without credentials, for messages."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def ensure_database(dsn: str, *, connect_timeout_s: float = 5.0) -> bool:
    """Create the database ``dsn`` names when it does not exist; True when it was created."""
    name = str(psycopg.conninfo.conninfo_to_dict(dsn).get("dbname") or "")
    server = with_database(dsn, "postgres")
    with psycopg.connect(server, autocommit=True, connect_timeout=int(connect_timeout_s)) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is not None:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.errors.DuplicateDatabase:
            return False  # another replica created it first
        return True


def make_engine(dsn: str, *, pool_size: int = 10, connect_timeout_s: float = 5.0) -> sa.Engine:
    """The service's engine: pre-pinged connections, a bounded connect timeout."""
    return sa.create_engine(
        sa_url(dsn),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"connect_timeout": int(connect_timeout_s)},
    )


def migrate(engine: sa.Engine, script_location: Path) -> None:
    """``alembic upgrade head`` from ``script_location``, one process at a time per database.

    The migration environment finds the connection in ``config.attributes["connection"]``
    (see :func:`eventyard.service.alembic.run_migrations`).
    """
    config = Config()
    config.set_main_option("script_location", str(script_location))
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            conn.commit()
