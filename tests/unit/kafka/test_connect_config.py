"""The shared Debezium PostgreSQL connector config: its defaults, the escaped table list, the one
host fallback, and the outbox's connector as exactly that config plus the EventRouter's keys."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import eventyard.kafka.connect
from eventyard.kafka.connect import (
    JSON_CONVERTERS,
    POSTGRES_CONNECTOR_CLASS,
    postgres_connector_config,
    slot_name_for,
)
from eventyard.outbox import DebeziumConnector, OutboxTable, TopicRouter

DSN = "postgresql://app:secret@db.internal:5433/shop"


def _config(**overrides: Any) -> dict[str, str]:
    arguments: dict[str, Any] = {
        "slot": "s",
        "dsn": DSN,
        "tables": ["public.orders"],
        "topic_prefix": "shop",
    }
    return postgres_connector_config(**{**arguments, **overrides})


def test_the_public_surface_is_pinned() -> None:
    assert eventyard.kafka.connect.__all__ == [
        "JSON_CONVERTERS",
        "POSTGRES_CONNECTOR_CLASS",
        "ConnectClient",
        "ConnectError",
        "connector_state",
        "postgres_connector_config",
        "slot_name_for",
    ]


def test_the_shared_choices_and_the_database_from_the_dsn() -> None:
    config = _config()
    assert config == {
        "connector.class": POSTGRES_CONNECTOR_CLASS,
        "tasks.max": "1",
        "plugin.name": "pgoutput",
        "database.hostname": "db.internal",
        "database.port": "5433",
        "database.user": "app",
        "database.password": "secret",
        "database.dbname": "shop",
        "topic.prefix": "shop",
        "table.include.list": r"public\.orders",
        "slot.name": "s",
        "publication.name": "s_pub",
        "publication.autocreate.mode": "filtered",
        "snapshot.mode": "initial",
        "heartbeat.interval.ms": "1000",
        **JSON_CONVERTERS,
    }
    assert all(isinstance(v, str) for v in config.values())  # Connect wants strings


def test_table_names_are_escaped_so_a_dot_matches_only_a_dot() -> None:
    config = _config(tables=["public.orders", "sales.order-lines"])
    patterns = config["table.include.list"].split(",")
    assert patterns == [r"public\.orders", r"sales\.order\-lines"]
    assert re.fullmatch(patterns[0], "public.orders")
    assert not re.fullmatch(patterns[0], "public_orders")  # unescaped, "." would match "_"


@given(
    st.lists(
        st.from_regex(r"[a-z_][a-z0-9_$-]{0,20}\.[a-z_][a-z0-9_$-]{0,20}", fullmatch=True),
        min_size=1,
        max_size=4,
    )
)
def test_each_escaped_table_matches_itself_and_no_other_name(tables: list[str]) -> None:
    patterns = _config(tables=tables)["table.include.list"].split(",")
    assert len(patterns) == len(tables)
    for pattern, table in zip(patterns, tables, strict=True):
        assert re.fullmatch(pattern, table)
        assert not re.fullmatch(pattern, table.replace(".", "x", 1))


@pytest.mark.parametrize(
    ("dsn", "host"),
    [
        ("host=10.0.0.5 port=6543 user=shop dbname=postgres", "10.0.0.5"),
        ("postgresql://postgres@127.0.0.1:55432/postgres", "127.0.0.1"),
        ("dbname=shop", "127.0.0.1"),  # no host
        ("host='' dbname=shop", "127.0.0.1"),  # an empty one
        ("host=/var/run/postgresql dbname=shop", "127.0.0.1"),  # a Unix-socket directory
        ("postgresql:///shop", "127.0.0.1"),
        ("host=/tmp hostaddr=10.1.2.3 dbname=shop", "10.1.2.3"),  # the socket's hostaddr
        ("host=primary,standby port=5432,5433 dbname=shop", "primary"),  # the first of several
    ],
)
def test_one_host_fallback_a_dsn_without_a_tcp_host_means_the_loopback(dsn: str, host: str) -> None:
    assert _config(dsn=dsn)["database.hostname"] == host


def test_the_other_defaults_follow_libpq_and_keywords_win_over_the_dsn() -> None:
    config = _config(dsn="dbname=shop")
    assert (config["database.port"], config["database.user"]) == ("5432", "postgres")
    assert config["database.password"] == ""
    assert _config(dsn="host=h,i port=6000,6001 user=alice")["database.port"] == "6000"
    assert _config(dsn="host=h user=alice")["database.dbname"] == "alice"  # as libpq does
    given = {"host": "pg.svc", "port": "6432", "user": "u", "password": "p", "dbname": "orders"}
    config = _config(**given)
    assert {k: config[f"database.{'hostname' if k == 'host' else k}"] for k in given} == given
    no_dsn = postgres_connector_config(slot="s", host="h", tables=["a.b"], topic_prefix="p")
    assert (no_dsn["database.hostname"], no_dsn["database.dbname"]) == ("h", "postgres")


def test_slot_from_the_name_and_the_optional_keys() -> None:
    assert slot_name_for("Shop-Outbox.v2") == "shop_outbox_v2"
    assert slot_name_for("x" * 80) == "x" * 63
    config = _config(
        slot=None,
        name="Shop-CDC.orders",
        publication="orders_pub",
        snapshot_mode="no_data",
        converters=None,
        heartbeat_interval_ms=None,
        poll_interval_ms=50,
        topic_partitions=3,
        extra={"skipped.operations": "none", "snapshot.mode": "never"},
    )
    assert (config["slot.name"], config["publication.name"]) == ("shop_cdc_orders", "orders_pub")
    assert config["poll.interval.ms"] == "50"
    assert config["topic.creation.default.partitions"] == "3"
    assert config["topic.creation.default.replication.factor"] == "-1"  # the broker's default
    assert config["skipped.operations"] == "none"
    assert config["snapshot.mode"] == "never"  # extra keys come last
    assert "heartbeat.interval.ms" not in config
    assert not any("converter" in key for key in config)  # left to the worker
    assert _config(slot="a" * 63)["publication.name"] == "a" * 63  # PostgreSQL's limit


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"slot": None}, "slot or a connector name"),
        ({"slot": "Bad-Slot"}, "slot name"),
        ({"topic_prefix": "a b"}, "topic prefix"),
        ({"tables": []}, "no tables"),
        ({"tables": ["orders"]}, "schema.table"),
    ],
)
def test_wrong_names_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(**overrides)


def test_the_outbox_connector_is_the_shared_config_plus_the_event_router_keys() -> None:
    connector = DebeziumConnector(
        name="shop-outbox",
        dsn=DSN,
        table=OutboxTable(name="outbox", schema="shop"),
        router=TopicRouter(template="shop.{aggregatetype}.events"),
        topic_prefix="cdc",
    )
    config = connector.config()
    shared = postgres_connector_config(
        dsn=DSN,
        slot="shop_outbox",
        tables=["shop.outbox", "shop.outbox_heartbeat"],
        topic_prefix="cdc",
        snapshot_mode="no_data",
        converters={},
        poll_interval_ms=50,
        topic_partitions=1,
        topic_replication_factor=1,
    )
    assert {k: config[k] for k in shared} == shared
    assert config["table.include.list"] == r"shop\.outbox,shop\.outbox_heartbeat"
    assert set(config) - set(shared) == {
        # the outbox's converters: key and payload passed through as they are
        "key.converter",
        "value.converter",
        "value.converter.delegate.converter.type",
        "value.converter.delegate.converter.type.schemas.enable",
        "header.converter",
        # the outbox's own connector keys
        "column.exclude.list",
        "extended.headers.enabled",
        "heartbeat.action.query",
        "tombstones.on.delete",
        # the EventRouter, applied to the outbox table's records only
        "transforms",
        "transforms.outbox.type",
        "transforms.outbox.predicate",
        "transforms.outbox.table.field.event.id",
        "transforms.outbox.table.field.event.key",
        "transforms.outbox.table.field.event.payload",
        "transforms.outbox.route.by.field",
        "transforms.outbox.route.topic.replacement",
        "transforms.outbox.table.fields.additional.placement",
        "predicates",
        "predicates.isOutboxTable.type",
        "predicates.isOutboxTable.pattern",
    }
    assert config["transforms.outbox.type"] == "io.debezium.transforms.outbox.EventRouter"
    assert config["predicates.isOutboxTable.pattern"] == r"cdc\.shop\.outbox"
    assert (
        DebeziumConnector(name="c", dsn=DSN, extra={"poll.interval.ms": "7"}).config()[
            "poll.interval.ms"
        ]
        == "7"
    )
