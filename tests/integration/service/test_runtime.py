"""The service runtime on the real stack: the README example, and a boot that waits for its
database while saying which one is unreachable."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest

from eventyard.service import NotReady, Runtime, ServiceSettings

README = Path(__file__).parents[3] / "libs" / "service" / "README.md"


def test_the_readme_example_prints_what_it_shows(
    pg_dsn: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("EVENTYARD_PG_DSN", pg_dsn)
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", kafka_bootstrap)
    text = README.read_text()
    example = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)[0]
    printed = re.findall(r"prints\n\n```text\n(.*?)```", text, flags=re.DOTALL)[0]
    namespace: dict[str, Any] = {"__name__": "readme"}
    exec(compile(example, str(README), "exec"), namespace)  # noqa: S102 - running the docs is the point
    # structlog's unconfigured default logs to stdout too; the example's own lines come last.
    assert capsys.readouterr().out.endswith(printed)
    namespace["runtime"].stop()


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
