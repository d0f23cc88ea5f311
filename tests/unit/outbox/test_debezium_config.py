"""The generated EventRouter connector config gives consumers what the relay gives them."""

from __future__ import annotations

import re

import pytest

from eventyard.outbox import ConfigError, DebeziumConnector, OutboxTable, TopicRouter

DSN = "postgresql://app:secret@db.internal:5433/shop"


def test_config_routes_by_aggregate_type_keys_by_aggregate_id_and_passes_bytes() -> None:
    connector = DebeziumConnector(
        name="shop-outbox",
        dsn=DSN,
        table=OutboxTable(name="outbox", schema="shop"),
        router=TopicRouter(template="shop.{aggregatetype}.events"),
        topic_prefix="cdc",
    )
    config = connector.config()
    assert config["database.hostname"] == "db.internal"
    assert config["database.port"] == "5433"
    assert config["database.user"] == "app"
    assert config["database.password"] == "secret"
    assert config["database.dbname"] == "shop"
    assert config["plugin.name"] == "pgoutput"
    assert config["publication.autocreate.mode"] == "filtered"
    assert config["transforms.outbox.type"] == "io.debezium.transforms.outbox.EventRouter"
    assert config["transforms.outbox.route.by.field"] == "aggregatetype"
    assert config["transforms.outbox.route.topic.replacement"] == "shop.${routedByValue}.events"
    assert config["transforms.outbox.table.field.event.key"] == "aggregateid"
    assert config["transforms.outbox.table.field.event.payload"] == "payload"
    assert config["key.converter"].endswith("StringConverter")
    assert config["value.converter"] == "io.debezium.converters.BinaryDataConverter"
    assert config["extended.headers.enabled"] == "false"
    placement = {
        column: header
        for column, _, header in (
            p.split(":")
            for p in config["transforms.outbox.table.fields.additional.placement"].split(",")
        )
    }
    assert placement == {
        "type": "eventType",
        "aggregatetype": "aggregateType",
        "contenttype": "contentType",
        "traceparent": "traceparent",
        "tracestate": "tracestate",
        "headers": "eventyard.headers",
    }


def test_heartbeats_write_to_a_table_in_the_publication() -> None:
    config = DebeziumConnector(name="c", dsn=DSN).config()
    assert config["heartbeat.interval.ms"] == "1000"
    assert "outbox_heartbeat" in config["heartbeat.action.query"]
    tables = config["table.include.list"].split(",")
    assert [re.sub(r"\\", "", t) for t in tables] == ["public.outbox", "public.outbox_heartbeat"]
    # The SMT only sees the outbox table's records: heartbeats pass it by.
    assert re.fullmatch(config["predicates.isOutboxTable.pattern"], "eventyard.public.outbox")
    assert not re.fullmatch(
        config["predicates.isOutboxTable.pattern"], "eventyard.public.outbox_heartbeat"
    )


def test_relay_only_columns_are_left_out() -> None:
    excluded = DebeziumConnector(name="c", dsn=DSN).config()["column.exclude.list"].split(",")
    assert "public.outbox.seq" in excluded
    assert "public.outbox.published_at" in excluded
    assert not any(c.endswith((".payload", ".id", ".traceparent")) for c in excluded)


def test_slot_and_publication_names_derive_from_the_connector_name() -> None:
    connector = DebeziumConnector(name="Shop-Outbox.v2", dsn=DSN)
    assert connector.slot_name == "shop_outbox_v2"
    assert connector.publication_name == "shop_outbox_v2_pub"
    assert (
        DebeziumConnector(name="c", dsn=DSN, extra={"tasks.max": "1", "x": "y"}).config()["x"]
        == "y"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "has space"},
        {"name": "c", "slot": "Bad-Slot"},
        {"name": "c", "topic_prefix": "a b"},
    ],
)
def test_bad_names_are_refused(kwargs: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        DebeziumConnector(dsn=DSN, **kwargs)  # type: ignore[arg-type]
