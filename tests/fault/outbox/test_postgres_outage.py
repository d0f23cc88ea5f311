"""PostgreSQL killed under a running relay: it backs off, reconnects, and loses nothing."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from eventyard.stack import ComponentFailed, Stack

Until = Callable[..., None]


def _ready(port: int) -> bool | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(json.loads(response.read())["ready"])
    except urllib.error.HTTPError as error:
        return False if error.code == 503 else None
    except OSError:
        return None


def _up_again(stack: Stack) -> None:
    """Start PostgreSQL after the kill. The stack's ``up`` can race the killed postmaster's
    last backends ("lock file postmaster.pid already exists"); a moment later it starts."""
    for attempt in range(5):
        try:
            stack.up(["postgres"])
            return
        except ComponentFailed:
            if attempt == 4:
                raise
            time.sleep(1)


def test_postgres_killed_and_back_the_relay_reconnects_and_sends_everything(
    harness: Any, local_stack: Stack, until: Until
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    relay = harness.start_relay("relay-0", health_port=port)
    until(lambda: _ready(port) is True, "the relay to be ready")
    before = harness.stream(count=1000, aggregates=20)
    before.wait()
    harness.read_topic(harness.topic, set(before.published))
    harness.engine.dispose()  # the pool's connections die with the server
    local_stack.kill("postgres")
    try:
        until(lambda: _ready(port) is False, "the relay to report not ready", 60)
    finally:
        _up_again(local_stack)
    until(lambda: _ready(port) is True, "the relay to reconnect", 120)
    after = harness.stream(count=1000, aggregates=20)
    after.wait()
    assert relay.process.poll() is None  # it waited the outage out
    messages = harness.read_topic(harness.topic, set(before.published) | set(after.published))
    expected = {a: before.expected.get(a, []) + after.expected.get(a, []) for a in after.expected}
    assert harness.first_deliveries(messages) == {**before.expected, **expected}
    assert relay.terminate() == 0
