"""The stack's ``registry`` component runs this service: the endpoint other suites use."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient


def test_the_stack_registry_is_this_service(
    registry_url: str, subject: Callable[[str], str]
) -> None:
    events = subject("stack")
    schema = Schema(json.dumps({"type": "record", "name": "Via", "fields": []}), "AVRO")
    client = SchemaRegistryClient({"url": registry_url})
    schema_id = client.register_schema(events, schema)
    assert client.get_latest_version(events).schema_id == schema_id
    assert httpx.get(f"{registry_url}/health").json() == {"status": "UP"}
