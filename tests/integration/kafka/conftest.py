"""Fixtures of the eventyard.kafka integration tests: a fresh database with a table to stream,
and connector names that are removed afterwards, with their replication slots and topics."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from eventyard.kafka.connect import ConnectClient, slot_name_for
from eventyard.stack import drop_replication_slot


@pytest.fixture
def source_dsn(pg_database: str) -> str:
    """A fresh database with ``public.items`` in it; its DSN."""
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
    return pg_database


@pytest.fixture
def connector_name(
    source_dsn: str,
    connect_url: str,
    unique_name: Callable[[str], str],
    topics_made: list[str],
) -> Iterator[Callable[[], str]]:
    """A factory of unique connector names; each name's connector is deleted afterwards, its
    replication slot (named after it) dropped and its topics deleted."""
    made: list[str] = []

    def make() -> str:
        name = unique_name("kc")
        made.append(name)
        topics_made.extend([f"{name}.", f"__debezium-heartbeat.{name}"])
        return name

    yield make
    with ConnectClient(connect_url) as client:
        for name in made:
            client.delete(name)
    for name in made:  # before the database goes: a slot keeps it from being dropped
        drop_replication_slot(source_dsn, slot_name_for(name))
