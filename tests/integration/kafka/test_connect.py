"""The shared Connect client and connector config against the stack's Kafka Connect with
Debezium: register, run, update, delete, and a failed task's error text."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from eventyard.kafka.connect import ConnectClient, ConnectError, postgres_connector_config


def test_register_update_and_delete_a_connector(
    source_dsn: str, connect_url: str, connector_name: Callable[[], str]
) -> None:
    name = connector_name()
    config = postgres_connector_config(
        name=name,
        dsn=source_dsn,
        tables=["public.items"],
        topic_prefix=name,
        topic_partitions=1,
        topic_replication_factor=1,
    )
    with ConnectClient(connect_url) as client:
        assert client.ensure(name, config) is True  # created
        status = client.wait_running(name)
        assert status["connector"]["state"] == "RUNNING"
        assert [task["state"] for task in status["tasks"]] == ["RUNNING"]
        assert client.state(name) == "RUNNING"
        assert name in client.connectors()
        assert client.config(name) == config  # as written, Connect's "name" key left out
        assert client.ensure(name, config) is False  # unchanged: not written again

        assert client.ensure(name, {**config, "poll.interval.ms": "100"}) is True
        client.wait_running(name)
        assert (client.config(name) or {})["poll.interval.ms"] == "100"

        assert client.delete(name) is True
        assert client.config(name) is None  # its status may linger a moment
        assert name not in client.connectors()
        assert client.delete(name) is False
    with psycopg.connect(source_dsn) as conn:  # the slot stays until dropped
        slot = conn.execute(
            "SELECT slot_name FROM pg_replication_slots WHERE slot_name = %s", (name,)
        ).fetchone()
    assert slot == (name,)


def test_a_failed_task_is_an_error_with_its_text(
    source_dsn: str, connect_url: str, connector_name: Callable[[], str]
) -> None:
    name = connector_name()
    # Valid to Connect, but Debezium cannot make a filtered publication of no table.
    config = postgres_connector_config(
        name=name, dsn=source_dsn, tables=["public.no_such_table"], topic_prefix=name
    )
    with ConnectClient(connect_url) as client:
        client.put(name, config)
        with pytest.raises(ConnectError) as caught:
            client.wait_running(name, 60)
        assert client.state(name) == "FAILED"
    error = caught.value
    assert str(error).startswith(f"Kafka Connect {connect_url}, connector {name}: failed: task 0:")
    assert "No table filters found for filtered publication" in str(error)
    assert error.trace is not None
    assert "PostgresReplicationConnection" in error.trace
    assert (error.connector, error.url, error.transient) == (name, connect_url, False)


def test_a_config_connect_refuses_is_an_error_naming_the_connector(
    connect_url: str, connector_name: Callable[[], str]
) -> None:
    name = connector_name()
    with ConnectClient(connect_url) as client:
        with pytest.raises(ConnectError, match="Failed to find any class") as caught:
            client.put(name, {"connector.class": "no.such.Connector"})
        assert client.status(name) is None
    assert caught.value.status_code == 400
    assert f"connector {name}: PUT /connectors/{name}/config: 400" in str(caught.value)
