"""Many clients at once: one schema gets one id, and versions never collide."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager

import httpx
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from fastapi import FastAPI

from eventyard_schema_registry import Settings, bootstrap, create_app

CLIENTS = 20

EVENT = json.dumps(
    {"type": "record", "name": "Event", "fields": [{"name": "id", "type": "string"}]}
)


def all_at_once(count: int, call: Callable[[int], int]) -> list[int]:
    """Run ``call(i)`` for ``i < count`` in threads released together."""
    barrier = threading.Barrier(count)

    def run(i: int) -> int:
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_twenty_clients_registering_one_schema_get_one_id_and_one_version(
    own_registry_url: str, subject: Callable[[str], str]
) -> None:
    events = subject("events")

    def register(_: int) -> int:
        client = SchemaRegistryClient({"url": own_registry_url})
        return client.register_schema(events, Schema(EVENT, "AVRO"))

    ids = all_at_once(CLIENTS, register)
    assert len(set(ids)) == 1
    assert SchemaRegistryClient({"url": own_registry_url}).get_versions(events) == [1]


def test_twenty_subjects_registering_one_schema_share_one_id(
    own_registry_url: str, subject: Callable[[str], str]
) -> None:
    names = [subject(f"s{i}") for i in range(CLIENTS)]
    schema = json.dumps({"type": "record", "name": "Shared", "fields": []})

    def register(i: int) -> int:
        client = SchemaRegistryClient({"url": own_registry_url})
        return client.register_schema(names[i], Schema(schema, "AVRO"))

    assert len(set(all_at_once(CLIENTS, register))) == 1


def test_twenty_different_schemas_in_one_subject_get_twenty_versions(
    own_registry_url: str, http: httpx.Client, subject: Callable[[str], str]
) -> None:
    events = subject("events")
    http.put(f"/config/{events}", json={"compatibility": "NONE"})

    def register(i: int) -> int:
        schema = json.dumps({"type": "record", "name": f"E{i}", "fields": []})
        with httpx.Client(base_url=own_registry_url, timeout=60) as own:
            answer = own.post(f"/subjects/{events}/versions", json={"schema": schema})
            answer.raise_for_status()
            return int(answer.json()["id"])

    ids = all_at_once(CLIENTS, register)
    assert len(set(ids)) == CLIENTS
    assert http.get(f"/subjects/{events}/versions").json() == list(range(1, CLIENTS + 1))
    by_version = {
        http.get(f"/subjects/{events}/versions/{v}").json()["id"] for v in range(1, CLIENTS + 1)
    }
    assert by_version == set(ids)


def test_two_registries_on_one_database_agree(
    own_registry_dsn: str,
    own_registry_url: str,
    serve: Callable[[FastAPI], AbstractContextManager[str]],
    subject: Callable[[str], str],
) -> None:
    # A second registry process on the same database: start-up migration is idempotent,
    # and both hand out the same ids.
    settings = Settings(dsn=own_registry_dsn)
    second = bootstrap(settings)
    try:
        with serve(create_app(settings, registry=second)) as other_url:
            events = subject("events")
            schema = json.dumps({"type": "record", "name": "Twice", "fields": []})

            def register(i: int) -> int:
                url = own_registry_url if i % 2 else other_url
                client = SchemaRegistryClient({"url": url})
                return client.register_schema(events, Schema(schema, "AVRO"))

            assert len(set(all_at_once(CLIENTS, register))) == 1
            assert SchemaRegistryClient({"url": other_url}).get_versions(events) == [1]
    finally:
        second.close()
