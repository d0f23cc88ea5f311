"""The connectors' names and configuration, and how the keeper registers and repairs them."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from eventyard.kafka.connect import ConnectClient, ConnectError, connector_state
from eventyard_order_history.adapters.debezium import (
    ConnectorSpec,
    connector_config,
    shop_connectors,
)
from eventyard_order_history.service_layer.connectors import ConnectorKeeper

SERVER = "host=10.0.0.5 port=6543 user=shop password=secret dbname=postgres"


def _specs() -> tuple[ConnectorSpec, ConnectorSpec]:
    return shop_connectors(
        "shop", orders_database="eventyard_orders", customers_database="eventyard_customers"
    )


def test_the_shop_connectors_follow_the_plan() -> None:
    orders, customers = _specs()
    assert (orders.name, orders.topic_prefix, orders.table, orders.database) == (
        "shop-cdc-orders",
        "shop.cdc.orders",
        "public.orders",
        "eventyard_orders",
    )
    assert (customers.name, customers.topic_prefix, customers.table) == (
        "shop-cdc-customers",
        "shop.cdc.customers",
        "public.customers",
    )
    assert orders.topic == "shop.cdc.orders.public.orders"
    assert customers.topic == "shop.cdc.customers.public.customers"
    assert (orders.slot, orders.publication) == ("shop_cdc_orders", "shop_cdc_orders_pub")


def test_config_streams_one_table_of_its_database_with_json_schemas() -> None:
    orders, _ = _specs()
    config = connector_config(orders, SERVER)
    assert config["connector.class"] == "io.debezium.connector.postgresql.PostgresConnector"
    assert config["plugin.name"] == "pgoutput"
    assert (config["database.hostname"], config["database.port"]) == ("10.0.0.5", "6543")
    assert (config["database.user"], config["database.password"]) == ("shop", "secret")
    assert config["database.dbname"] == "eventyard_orders"  # not the server DSN's database
    assert config["table.include.list"] == r"public\.orders"  # a regex: the dot escaped
    assert config["topic.prefix"] == "shop.cdc.orders"
    assert config["slot.name"] == "shop_cdc_orders"
    assert config["publication.name"] == "shop_cdc_orders_pub"
    assert config["publication.autocreate.mode"] == "filtered"
    assert config["skipped.operations"] == "none"
    for side in ("key", "value"):
        assert config[f"{side}.converter"] == "org.apache.kafka.connect.json.JsonConverter"
        assert config[f"{side}.converter.schemas.enable"] == "true"
    assert all(isinstance(v, str) for v in config.values())  # Connect wants strings


def test_a_url_dsn_works_too() -> None:
    _, customers = _specs()
    config = connector_config(customers, "postgresql://postgres@127.0.0.1:55432/postgres")
    assert config["database.hostname"] == "127.0.0.1"
    assert config["database.port"] == "55432"
    assert config["database.password"] == ""
    assert config["database.dbname"] == "eventyard_customers"


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (None, "MISSING"),
        ({"connector": {"state": "RUNNING"}, "tasks": [{"state": "RUNNING"}]}, "RUNNING"),
        ({"connector": {"state": "RUNNING"}, "tasks": [{"state": "FAILED"}]}, "FAILED"),
        ({"connector": {"state": "FAILED"}, "tasks": []}, "FAILED"),
        ({"connector": {"state": "RUNNING"}, "tasks": []}, "STARTING"),
        ({"connector": {"state": "PAUSED"}, "tasks": [{"state": "PAUSED"}]}, "PAUSED"),
    ],
)
def test_connector_state(status: dict[str, Any] | None, state: str) -> None:
    assert connector_state(status) == state


class FakeConnect:
    """Kafka Connect's REST API in memory: connectors, their state, the requests made."""

    def __init__(self) -> None:
        self.configs: dict[str, dict[str, str]] = {}
        self.states: dict[str, str] = {}
        self.requests: list[tuple[str, str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        name = request.url.path.split("/")[2]
        if request.method == "PUT":
            self.configs[name] = json.loads(request.content)
            self.states.setdefault(name, "RUNNING")
            return httpx.Response(201, json={"name": name, "config": self.configs[name]})
        if request.method == "POST":
            self.states[name] = "RUNNING"
            return httpx.Response(202)
        if name not in self.configs:
            return httpx.Response(404, json={"message": f"connector {name} not found"})
        if request.url.path.endswith("/config"):
            return httpx.Response(200, json={**self.configs[name], "name": name})
        state = self.states[name]
        return httpx.Response(
            200, json={"name": name, "connector": {"state": "RUNNING"}, "tasks": [{"state": state}]}
        )

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]


def _keeper(connect: FakeConnect, missing: dict[str, str]) -> tuple[ConnectorKeeper, list[int]]:
    specs = _specs()
    prepared: list[int] = []
    keeper = ConnectorKeeper(
        client=ConnectClient("http://connect", transport=httpx.MockTransport(connect.handle)),
        specs=specs,
        configs={s.name: connector_config(s, SERVER) for s in specs},
        source_problem=lambda spec: missing.get(spec.name),
        prepare=lambda: prepared.append(1),
    )
    return keeper, prepared


def test_a_connector_waits_for_its_source_then_registers_once() -> None:
    connect = FakeConnect()
    missing = {"shop-cdc-orders": "database eventyard_orders does not exist yet"}
    keeper, prepared = _keeper(connect, missing)

    keeper.check_once()
    assert prepared == [1]
    assert keeper.prepared.is_set()
    states = keeper.states()
    assert states["shop-cdc-orders"] == "waiting: database eventyard_orders does not exist yet"
    assert states["shop-cdc-customers"] == "registered: starting"
    assert connect.writes() == [("PUT", "/connectors/shop-cdc-customers/config")]

    missing.clear()
    keeper.check_once()
    keeper.check_once()
    assert set(keeper.states().values()) == {"running"}
    assert connect.writes() == [
        ("PUT", "/connectors/shop-cdc-customers/config"),
        ("PUT", "/connectors/shop-cdc-orders/config"),
    ]  # identical configs are not written again
    assert prepared == [1]


def test_a_changed_config_is_written_and_a_failed_task_restarted() -> None:
    connect = FakeConnect()
    keeper, _ = _keeper(connect, {})
    keeper.check_once()
    connect.configs["shop-cdc-orders"]["poll.interval.ms"] = "500"
    connect.states["shop-cdc-customers"] = "FAILED"
    connect.requests.clear()

    keeper.check_once()
    assert keeper.states()["shop-cdc-orders"] == "running"
    assert keeper.states()["shop-cdc-customers"] == "failed: restarting"
    assert connect.writes() == [
        ("PUT", "/connectors/shop-cdc-orders/config"),
        ("POST", "/connectors/shop-cdc-customers/restart"),
    ]
    assert connect.configs["shop-cdc-orders"]["poll.interval.ms"] == "50"


def test_a_deleted_connector_is_registered_again() -> None:
    connect = FakeConnect()
    keeper, _ = _keeper(connect, {})
    keeper.check_once()
    del connect.configs["shop-cdc-orders"]
    keeper.check_once()
    assert "shop-cdc-orders" in connect.configs


def test_connect_unreachable_or_refusing_is_reported_not_raised() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(400, json={"message": "Connector configuration is invalid"})
        return httpx.Response(404, json={"message": "not found"})

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    for handler, expected in ((refuse, "configuration is invalid"), (unreachable, "unreachable")):
        specs = _specs()
        keeper = ConnectorKeeper(
            client=ConnectClient("http://connect", transport=httpx.MockTransport(handler)),
            specs=specs,
            configs={s.name: connector_config(s, SERVER) for s in specs},
            source_problem=lambda spec: None,
        )
        keeper.check_once()
        for state in keeper.states().values():
            assert state.startswith("waiting: ")
            assert expected in state


def test_topics_not_created_keep_every_connector_waiting() -> None:
    connect = FakeConnect()
    specs = _specs()

    def broker_down() -> None:
        raise OSError("Kafka unreachable")

    keeper = ConnectorKeeper(
        client=ConnectClient("http://connect", transport=httpx.MockTransport(connect.handle)),
        specs=specs,
        configs={s.name: connector_config(s, SERVER) for s in specs},
        source_problem=lambda spec: None,
        prepare=broker_down,
    )
    keeper.check_once()
    assert not keeper.prepared.is_set()
    assert all("Kafka unreachable" in s for s in keeper.states().values())
    assert connect.writes() == []


def test_connect_error_names_the_request() -> None:
    client = ConnectClient(
        "http://connect",
        transport=httpx.MockTransport(lambda r: httpx.Response(500, text="boom")),
    )
    with pytest.raises(ConnectError, match=r"GET /connectors/x/status: 500 boom"):
        client.status("x")
