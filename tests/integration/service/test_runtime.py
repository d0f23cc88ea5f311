"""The service runtime on the real stack: a boot that waits for its database while saying which
one is unreachable (the README's example runs in test_readme.py)."""

from __future__ import annotations

import socket

import pytest

from eventyard.service import NotReady, Runtime, ServiceSettings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Settings(ServiceSettings):
    model_config = ServiceSettings.config_for("UNREACHABLE")
    database: str = "eventyard_unreachable"


def test_an_unreachable_database_is_named_and_nothing_is_served(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = _closed_port()
    monkeypatch.setenv("EVENTYARD_PG_DSN", f"host=127.0.0.1 port={port} user=postgres")
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", kafka_bootstrap)
    runtime = Runtime(name="unreachable", settings=Settings(), migrations=None)
    runtime.start()
    try:
        ok, checks = runtime.readiness()
        while checks.get("boot") == "starting":
            ok, checks = runtime.readiness()
        assert not ok
        assert f"database 127.0.0.1:{port}/eventyard_unreachable unreachable" in checks["boot"]
        with pytest.raises(NotReady, match="unreachable"):
            runtime.sessions()
    finally:
        runtime.stop()
