"""The public surface is exactly what ``__all__`` says, sorted, and nothing connects at import."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

import eventyard.outbox
import eventyard.outbox.testing

pytestmark = pytest.mark.unit

PUBLIC = [
    "CONTENT_TYPE_AVRO",
    "CONTENT_TYPE_BYTES",
    "CONTENT_TYPE_JSON",
    "AvroSerializer",
    "Backlog",
    "BrokerUnavailable",
    "BytesSerializer",
    "Cleanup",
    "ConfigurationError",
    "ConnectorError",
    "DebeziumConnector",
    "Event",
    "HandlerOutcome",
    "Horizon",
    "InboundMessage",
    "InboxConfig",
    "InboxConsumer",
    "InboxStats",
    "InboxTable",
    "InvalidEvent",
    "JsonSerializer",
    "KafkaSink",
    "MessageSink",
    "Outbox",
    "OutboxError",
    "OutboxRecord",
    "OutboxRow",
    "OutboxStore",
    "OutboxTable",
    "OutgoingMessage",
    "PayloadSerializer",
    "PayloadTooLarge",
    "PostgresOutboxStore",
    "PublishError",
    "Publisher",
    "RejectMessage",
    "Relay",
    "RelayConfig",
    "RelayMetrics",
    "RelaySettings",
    "RelayStatus",
    "RetryLater",
    "RetryableError",
    "SendReport",
    "SerializationError",
    "SerializedPayload",
    "StoreSession",
    "StoreUnavailable",
    "SupportsExecute",
    "TopicRouter",
    "build_relay",
    "consumer_span",
    "create_outbox_schema",
    "dead_letter_headers",
    "drop_outbox_schema",
    "inbox_ddl",
    "outbox_ddl",
    "outbox_partition_ddl",
    "producer_config",
]

TESTING = [
    "BrokerMessage",
    "InMemoryBroker",
    "InMemoryOutbox",
    "InMemoryOutboxStore",
    "InMemorySession",
    "InMemoryTransaction",
    "OutboxStoreContract",
    "Writer",
]


def _isort_key(name: str) -> tuple[int, str]:
    """RUF022's order: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[0].isupper() else (2, name)


@pytest.mark.parametrize(
    ("module", "expected"), [(eventyard.outbox, PUBLIC), (eventyard.outbox.testing, TESTING)]
)
def test_all_is_pinned_and_sorted(module: types.ModuleType, expected: list[str]) -> None:
    assert module.__all__ == expected
    assert module.__all__ == sorted(module.__all__, key=_isort_key)
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_nothing_public_outside_all() -> None:
    public = {
        name
        for name, value in vars(eventyard.outbox).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public <= set(PUBLIC)


def test_it_is_a_namespace_package_with_a_type_marker() -> None:
    package = Path(eventyard.outbox.__file__ or "").parent
    assert (package / "py.typed").is_file()
    assert not (package.parent / "__init__.py").exists()  # eventyard is a PEP 420 namespace


def test_importing_connects_to_nothing() -> None:
    # A fresh interpreter with unreachable endpoints in the environment imports it silently.
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('connected at import')\n"
        "socket.socket.connect = refuse\n"
        "import eventyard.outbox, eventyard.outbox.testing\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        env={"EVENTYARD_PG_DSN": "postgresql://nobody@127.0.0.1:1/x", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
