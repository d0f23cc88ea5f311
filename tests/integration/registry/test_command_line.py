"""The command line: ``python -m eventyard_schema_registry`` and its console script."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from eventyard_schema_registry import Registry, Settings, bootstrap
from eventyard_schema_registry.domain.model import RegisterRequest

NewDatabase = Callable[[], AbstractContextManager[str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment() -> dict[str, str]:
    """This environment without registry settings, so only the options count."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("EVENTYARD_REGISTRY_") and k != "EVENTYARD_PG_DSN"
    }


@pytest.fixture
def started(new_database: NewDatabase) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The registry started as a process on a fresh database: its URL and process."""
    port = free_port()
    with new_database() as dsn:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "eventyard_schema_registry"),
                *("--host", "127.0.0.1", "--port", str(port), "--dsn", dsn),
            ],
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, process.communicate()[0]
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the registry did not become ready"
                time.sleep(0.1)
            yield url, process
        finally:
            process.terminate()
            process.communicate(timeout=30)


def test_the_module_serves_the_api(started: tuple[str, subprocess.Popen[str]]) -> None:
    url, _ = started
    assert httpx.get(url).json() == {}
    schema = json.dumps({"type": "record", "name": "R", "fields": []})
    answer = httpx.post(f"{url}/subjects/cli-value/versions", json={"schema": schema})
    assert answer.json() == {"id": 1}
    assert httpx.get(f"{url}/subjects").json() == ["cli-value"]


def test_sigterm_shuts_down_gracefully(started: tuple[str, subprocess.Popen[str]]) -> None:
    _, process = started
    process.terminate()
    output, _ = process.communicate(timeout=30)
    # uvicorn finishes the shutdown, then re-raises the signal it caught.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in output


def test_an_unreachable_database_is_a_one_line_error() -> None:
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/registry"
    finished = subprocess.run(
        [sys.executable, "-m", "eventyard_schema_registry", "--dsn", dead],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    message = finished.stderr.strip()
    assert message.startswith("eventyard-schema-registry: cannot use PostgreSQL at 127.0.0.1:")
    assert "Traceback" not in finished.stderr
    assert len(message.splitlines()) == 1


def test_a_missing_dsn_says_which_variable_to_set() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "eventyard_schema_registry"],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert "EVENTYARD_REGISTRY_DSN" in finished.stderr


def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("eventyard-schema-registry")
    finished = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert finished.returncode == 0
    assert "--dsn" in finished.stdout


def test_registries_in_separate_postgres_schemas_share_a_database(own_registry_dsn: str) -> None:
    schema = json.dumps({"type": "record", "name": "Apart", "fields": []})
    first = bootstrap(Settings(dsn=own_registry_dsn, db_schema="registry_a"))
    second = bootstrap(Settings(dsn=own_registry_dsn, db_schema="registry_b"))
    try:
        first.register("apart-value", RegisterRequest(schema=schema))
        assert "apart-value" in first.subjects()
        assert second.subjects() == []
    finally:
        _close(first, second)


def _close(*registries: Registry) -> None:
    for registry in registries:
        registry.close()
