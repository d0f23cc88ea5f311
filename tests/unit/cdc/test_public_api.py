"""The public surface is exactly what __all__ says; the namespace package stays PEP 420."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

import eventyard.cdc
from eventyard.cdc import CdcError, ConfigError, DecodeError, Position, RunnerConfig, _exceptions

pytestmark = pytest.mark.unit

SRC = Path(eventyard.cdc.__file__).parent


def test_all_is_pinned() -> None:
    assert eventyard.cdc.__all__ == [
        "BEGINNING",
        "DEAD_LETTER_HEADERS",
        "UNAVAILABLE",
        "ApplyContext",
        "CdcError",
        "ChangeEvent",
        "ConfigError",
        "ConnectField",
        "ConnectSchema",
        "DeadLetterFailed",
        "DecodeError",
        "Decoder",
        "Event",
        "EventHandler",
        "Heartbeat",
        "MessageEvent",
        "MessageLike",
        "OffsetStore",
        "Op",
        "PartitionLag",
        "Position",
        "Projection",
        "ProjectionError",
        "ProjectionRunner",
        "RebuildFailed",
        "RebuildReport",
        "RegistrySchemas",
        "Row",
        "RunnerConfig",
        "RunnerMetrics",
        "SchemaChange",
        "SchemaLookup",
        "SchemaUnavailable",
        "Source",
        "TableChange",
        "TableEvent",
        "TableHandler",
        "TableMirror",
        "Tombstone",
        "TransactionEvent",
        "TransactionRef",
        "TruncateEvent",
        "Unavailable",
        "pg_type",
    ]
    constants = [n for n in eventyard.cdc.__all__ if n.isupper()]
    others = [n for n in eventyard.cdc.__all__ if not n.isupper()]
    assert constants == sorted(constants)
    assert others == sorted(others)
    for name in eventyard.cdc.__all__:
        assert hasattr(eventyard.cdc, name)


def test_namespace_package_and_typed_marker() -> None:
    assert not (SRC.parent / "__init__.py").exists()
    assert (SRC / "py.typed").is_file()


def test_private_modules_stay_private() -> None:
    public = {p.stem for p in SRC.glob("*.py") if not p.stem.startswith("_")}
    assert public == {"faust", "testing"}


def test_exception_tree_is_drawn_and_true() -> None:
    doc = _exceptions.__doc__ or ""
    for name in _exceptions.__all__:
        assert name in doc
        assert issubclass(getattr(_exceptions, name), CdcError)
    assert issubclass(DecodeError, ValueError)
    assert issubclass(ConfigError, ValueError)
    assert _exceptions.SchemaUnavailable.retryable
    assert _exceptions.DeadLetterFailed.retryable
    assert not DecodeError.retryable
    assert issubclass(_exceptions.RebuildFailed, _exceptions.ProjectionError)


def test_results_and_configs_are_frozen_and_keyword_only() -> None:
    position = Position("t", 0, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        position.offset = 2  # type: ignore[misc]
    config = RunnerConfig(bootstrap_servers="b", dsn="d", group_id="g", topics=("t",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.batch_size = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        RunnerConfig("b", "d", "g")  # type: ignore[misc]


def test_importing_connects_to_nothing() -> None:
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('connected at import time')\n"
        "socket.socket.connect = refuse\n"
        "import eventyard.cdc, eventyard.cdc.faust, eventyard.cdc.testing\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
