"""RegistryClient against the in-memory FakeRegistry, and its error mapping."""

from __future__ import annotations

import json

import httpx
import pytest

from eventyard.schemas import RegistryRejected, RegistryUnavailable
from eventyard.schemas._registry import CONTENT_TYPE, RegistryClient
from eventyard.schemas.testing import FakeRegistry

V1 = json.dumps({"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}]})
V2 = json.dumps(
    {
        "type": "record",
        "name": "R",
        "fields": [{"name": "a", "type": "int"}, {"name": "b", "type": "int", "default": 0}],
    }
)
BAD = json.dumps({"type": "record", "name": "R", "fields": [{"name": "c", "type": "int"}]})


def client_for(registry: FakeRegistry) -> RegistryClient:
    return RegistryClient("http://registry.test", transport=registry.transport)


def test_register_lookup_and_history() -> None:
    registry = FakeRegistry()
    with client_for(registry) as client:
        assert client.versions("orders-value") == []
        assert client.lookup("orders-value", V1) is None
        first = client.register("orders-value", V1)
        assert client.register("orders-value", V1) == first  # same schema, same id
        second = client.register("orders-value", V2)
        assert second != first
        assert [v.schema for v in client.history("orders-value")] == [V1, V2]
        found = client.lookup("orders-value", V2)
        assert found is not None
        assert found.version == 2
    post = next(r for r in registry.requests if r.method == "POST")
    assert post.headers["content-type"] == CONTENT_TYPE


def test_incompatible_registration_is_rejected_with_409() -> None:
    registry = FakeRegistry()
    registry.add("orders-value", V1)
    with client_for(registry) as client, pytest.raises(RegistryRejected) as caught:
        client.register("orders-value", BAD)
    assert caught.value.status == 409
    assert not caught.value.retryable


def test_invalid_schema_is_rejected_with_422() -> None:
    with client_for(FakeRegistry()) as client, pytest.raises(RegistryRejected) as caught:
        client.register("s", '{"type": "array"}')
    assert caught.value.status == 422
    assert caught.value.error_code == 42201


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_retryable(status: int) -> None:
    transport = httpx.MockTransport(
        lambda _: httpx.Response(status, json={"error_code": status, "message": "busy"})
    )
    with (
        RegistryClient("http://r", transport=transport) as client,
        pytest.raises(RegistryUnavailable) as caught,
    ):
        client.versions("s")
    assert caught.value.retryable
    assert "busy" in str(caught.value)


def test_connection_errors_are_retryable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    transport = httpx.MockTransport(refuse)
    with (
        RegistryClient("http://r", transport=transport) as client,
        pytest.raises(RegistryUnavailable, match="refused"),
    ):
        client.history("s")


def test_subject_names_are_escaped_in_paths() -> None:
    registry = FakeRegistry()
    with client_for(registry) as client:
        client.register("team a.orders-value", V1)
    assert registry.requests[-1].url.raw_path.startswith(b"/subjects/team%20a.orders-value/")
