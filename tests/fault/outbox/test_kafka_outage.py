"""Kafka stopped for 10 s in the middle of a stream: the relay waits it out; nothing is lost."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from eventyard.stack import Stack

Until = Callable[..., None]


def _ready(port: int) -> bool | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
            return bool(json.loads(response.read())["ready"])
    except urllib.error.HTTPError as error:
        return False if error.code == 503 else None
    except OSError:
        return None


def test_kafka_stopped_mid_stream_then_back_loses_nothing(
    harness: Any, local_stack: Stack, until: Until
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    relay = harness.start_relay("relay-0", health_port=port)
    until(lambda: _ready(port) is True, "the relay to be ready")
    stream = harness.stream(count=3000, aggregates=30, pause_s=0.02)
    until(lambda: stream.progress >= 1000, "a third of the stream")
    local_stack.kill("kafka")
    try:
        outage_started = time.monotonic()
        until(lambda: _ready(port) is False, "the relay to report not ready", 60)
        at_kill = stream.progress
        while time.monotonic() - outage_started < 10:  # the outage lasts 10 s
            time.sleep(0.1)
        published_during_outage = stream.progress - at_kill
    finally:
        local_stack.up(["kafka"])
    stream.wait()
    assert published_during_outage > 0  # the service kept writing while Kafka was away
    until(lambda: _ready(port) is True, "the relay to be ready again", 120)
    assert relay.process.poll() is None  # it waited the outage out, it did not crash
    messages = harness.read_topic(harness.topic, set(stream.published))
    assert harness.first_deliveries(messages) == stream.expected
    assert relay.terminate() == 0
