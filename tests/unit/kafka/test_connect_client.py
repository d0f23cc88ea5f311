"""The Connect client against Connect's REST API in memory: idempotent writes, missing
connectors, waiting, and errors that name the connector, the URL and a failed task's error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from eventyard.kafka.connect import ConnectClient, ConnectError, connector_state

URL = "http://connect:8083"
TRACE = (
    "org.apache.kafka.connect.errors.ConnectException: An exception occurred\n"
    "\tat io.debezium.pipeline.ErrorHandler.setProducerThrowable(ErrorHandler.java:67)\n"
    'Caused by: org.postgresql.util.PSQLException: FATAL: database "gone" does not exist\n'
    "\tat org.postgresql.core.v3.ConnectionFactoryImpl.doAuthentication(...)\n"
)


class FakeConnect:
    """Connectors, their configs and task states; the requests made."""

    def __init__(self) -> None:
        self.configs: dict[str, dict[str, str]] = {}
        self.tasks: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911 - a route each
        self.requests.append((request.method, request.url.path))
        parts = request.url.path.strip("/").split("/")
        if parts == ["connectors"]:
            return httpx.Response(200, json=list(self.configs))
        if parts == ["connector-plugins"]:
            return httpx.Response(200, json=[{"class": "io.debezium.X", "type": "source"}])
        name = parts[1]
        if request.method == "PUT":
            created = name not in self.configs
            self.configs[name] = json.loads(request.content)
            self.tasks.setdefault(name, [{"id": 0, "state": "RUNNING"}])
            return httpx.Response(201 if created else 200, json={"name": name})
        if name not in self.configs:
            return httpx.Response(404, json={"error_code": 404, "message": f"{name} not found"})
        if request.method == "DELETE":
            del self.configs[name]
            return httpx.Response(204)
        if request.method == "POST":
            return httpx.Response(202)
        if parts[-1] == "config":
            return httpx.Response(200, json={**self.configs[name], "name": name})
        return httpx.Response(
            200, json={"name": name, "connector": {"state": "RUNNING"}, "tasks": self.tasks[name]}
        )

    def client(self) -> ConnectClient:
        return ConnectClient(URL, transport=httpx.MockTransport(self.handle))

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]


def test_create_read_update_list_and_delete() -> None:
    connect = FakeConnect()
    with connect.client() as client:
        assert client.status("orders") is None
        assert client.config("orders") is None
        assert client.state("orders") == "MISSING"
        assert client.put("orders", {"a": "1"}) is True  # created
        assert client.put("orders", {"a": "2"}) is False  # replaced
        assert client.config("orders") == {"a": "2"}  # without Connect's "name"
        assert client.state("orders") == "RUNNING"
        assert client.connectors() == ["orders"]
        assert client.plugins() == ["io.debezium.X"]
        client.restart("orders")
        assert client.delete("orders") is True
        assert client.delete("orders") is False  # already gone: not an error
    assert ("POST", "/connectors/orders/restart") in connect.requests


def test_ensure_writes_only_a_config_that_differs() -> None:
    connect = FakeConnect()
    with connect.client() as client:
        assert client.ensure("orders", {"a": "1"}) is True
        assert client.ensure("orders", {"a": "1"}) is False  # unchanged: its tasks keep running
        assert client.ensure("orders", {"a": "1", "name": "orders"}) is False
        assert client.ensure("orders", {"a": "2"}) is True
    assert connect.writes() == [
        ("PUT", "/connectors/orders/config"),
        ("PUT", "/connectors/orders/config"),
    ]


def test_connector_names_are_quoted_in_the_path() -> None:
    paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return httpx.Response(201, json={})

    with ConnectClient(URL, transport=httpx.MockTransport(handler)) as client:
        client.put("a b/c", {})
    assert paths == [b"/connectors/a%20b%2Fc/config"]


def test_wait_running_returns_the_status_once_every_task_runs() -> None:
    connect = FakeConnect()
    connect.configs["orders"] = {}
    connect.tasks["orders"] = [{"id": 0, "state": "RUNNING"}]
    with connect.client() as client:
        status = client.wait_running("orders", 1)
    assert status["tasks"] == [{"id": 0, "state": "RUNNING"}]


def test_a_failed_task_raises_with_its_error_text_the_connector_and_the_url() -> None:
    connect = FakeConnect()
    connect.configs["orders"] = {}
    connect.tasks["orders"] = [{"id": 0, "state": "FAILED", "trace": TRACE}]
    with connect.client() as client, pytest.raises(ConnectError) as caught:
        client.wait_running("orders", 5)
    error = caught.value
    assert str(error) == (
        f"Kafka Connect {URL}, connector orders: failed: task 0: "
        "org.apache.kafka.connect.errors.ConnectException: An exception occurred / "
        'Caused by: org.postgresql.util.PSQLException: FATAL: database "gone" does not exist'
    )
    assert (error.connector, error.url, error.status_code) == ("orders", URL, None)
    assert error.trace is not None
    assert "ConnectionFactoryImpl" in error.trace  # the whole trace is kept
    assert not error.transient


def test_a_connector_that_never_runs_times_out_with_its_last_state() -> None:
    connect = FakeConnect()
    connect.configs["orders"] = {}
    connect.tasks["orders"] = []  # no task assigned yet
    with (
        connect.client() as client,
        pytest.raises(ConnectError, match=r"connector orders: not running after 0.2 s"),
    ):
        client.wait_running("orders", 0.2, poll_s=0.05)


def test_wait_running_rides_out_a_restarting_worker() -> None:
    answers: Iterator[httpx.Response | Exception] = iter(
        [
            httpx.ConnectError("connection refused"),
            httpx.Response(409, json={"message": "rebalance in progress"}),
            httpx.Response(
                200, json={"connector": {"state": "RUNNING"}, "tasks": [{"state": "RUNNING"}]}
            ),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with ConnectClient(URL, transport=httpx.MockTransport(handler)) as client:
        client.wait_running("orders", 5, poll_s=0.01)


def test_errors_name_the_request_the_connector_and_the_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(400, json={"error_code": 400, "message": "invalid: x"})
        return httpx.Response(500, text="boom")

    with ConnectClient(URL, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ConnectError) as caught:
            client.put("orders", {})
        assert str(caught.value) == (
            f"Kafka Connect {URL}, connector orders: PUT /connectors/orders/config: 400 invalid: x"
        )
        assert caught.value.status_code == 400
        assert not caught.value.transient
        with pytest.raises(ConnectError, match=r"GET /connectors/x/status: 500 boom") as failed:
            client.status("x")
        assert failed.value.transient
        with pytest.raises(ConnectError, match=rf"^Kafka Connect {URL}: GET /connectors: 500"):
            client.connectors()


def test_an_unreachable_worker_is_named() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with (
        ConnectClient(URL, transport=httpx.MockTransport(handler)) as client,
        pytest.raises(ConnectError, match=r"unreachable .*connection refused") as caught,
    ):
        client.delete("orders")
    assert caught.value.transient
    assert caught.value.connector == "orders"


def test_a_subclass_raises_its_own_error_type() -> None:
    class StackFailed(ConnectError):
        pass

    class StackClient(ConnectClient):
        error_type = StackFailed

    client = StackClient(URL, transport=httpx.MockTransport(lambda r: httpx.Response(500)))
    with pytest.raises(StackFailed):
        client.status("x")


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
