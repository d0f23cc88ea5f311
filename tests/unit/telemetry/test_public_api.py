"""The public surface is exactly what ``__all__`` says, sorted, and nothing connects at import."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

import eventyard.telemetry
import eventyard.telemetry.testing

PUBLIC = [
    "Telemetry",
    "add_trace_context",
    "configure",
    "consumer_span",
    "context_from_traceparent",
    "current_traceparent",
    "instrument_fastapi",
    "producer_span",
    "trace_headers",
    "trace_id_of",
    "tracer",
]

TESTING = ["reset"]


def _isort_key(name: str) -> tuple[int, str]:
    """RUF022's order: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


@pytest.mark.parametrize(
    ("module", "expected"),
    [(eventyard.telemetry, PUBLIC), (eventyard.telemetry.testing, TESTING)],
)
def test_all_is_pinned_and_sorted(module: types.ModuleType, expected: list[str]) -> None:
    assert module.__all__ == expected
    assert module.__all__ == sorted(module.__all__, key=_isort_key)
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_nothing_public_outside_all() -> None:
    public = {
        name
        for name, value in vars(eventyard.telemetry).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(PUBLIC)


def test_it_is_a_namespace_package_with_a_type_marker() -> None:
    package = Path(eventyard.telemetry.__file__ or "").parent
    assert (package / "py.typed").is_file()
    assert not (package.parent / "__init__.py").exists()


def test_importing_connects_to_nothing() -> None:
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('connected at import')\n"
        "socket.socket.connect = refuse\n"
        "import eventyard.telemetry, eventyard.telemetry.testing\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"EVENTYARD_OTLP_ENDPOINT": "http://127.0.0.1:1", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr


def test_importing_needs_no_web_or_database_library() -> None:
    # FastAPI, SQLAlchemy and httpx are the application's; they are imported when used.
    code = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'fastapi', 'starlette', 'sqlalchemy', 'httpx'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "import eventyard.telemetry, eventyard.telemetry.testing\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
