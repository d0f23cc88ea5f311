"""Relays count and see only their own database's members: advisory locks are server-wide, and
every service names its table ``public.outbox``, so relays of other databases share the keys."""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from eventyard.outbox import OutboxTable, PostgresOutboxStore, create_outbox_schema


def test_relays_of_another_database_are_not_members_of_this_group(
    pg_database: str, pg_dsn: str
) -> None:
    other = f"outbox_other_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(other)))
    info = psycopg.conninfo.conninfo_to_dict(pg_database)
    info["dbname"] = other
    other_dsn = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v})
    try:
        for dsn in (pg_database, other_dsn):
            with psycopg.connect(dsn, autocommit=True) as conn:
                create_outbox_schema(conn, outbox=OutboxTable())
        here = PostgresOutboxStore(pg_database).connect("here")
        there = PostgresOutboxStore(other_dsn).connect("there")
        with here, there:
            assert here.try_acquire(0)
            assert there.try_acquire(0), "partition 0 of another database is free to take"
            assert here.members() == 1
            assert there.members() == 1
            assert set(here.owners()) == {0}
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(other))
            )
