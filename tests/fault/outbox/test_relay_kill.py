"""kill -9 of relays: nothing lost, per-aggregate order kept, the inbox applies each event once."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

Until = Callable[..., None]


def test_three_relays_one_killed_and_one_joining_keep_order_per_aggregate(
    harness: Any, until: Until
) -> None:
    relays = [harness.start_relay(f"relay-{i}") for i in range(3)]
    until(lambda: len(set(harness.owners().values())) == 3, "three relays sharing the partitions")
    stream = harness.stream(count=3000, aggregates=30, pause_s=0.02)
    until(lambda: stream.progress >= 1000, "a third of the stream")
    relays[1].kill()
    until(lambda: stream.progress >= 2000, "two thirds of the stream")
    harness.start_relay("relay-3")
    stream.wait()
    until(
        lambda: (
            set(harness.owners().values()) == {"relay-0", "relay-2", "relay-3"}
            and len(harness.owners()) == harness.table.partitions
        ),
        "the joiner to get its share",
    )
    shares = [list(harness.owners().values()).count(r) for r in ("relay-0", "relay-2", "relay-3")]
    assert max(shares) <= -(-harness.table.partitions // 3)
    messages = harness.read_topic(harness.topic, set(stream.published))
    assert harness.first_deliveries(messages) == stream.expected


def test_kill_9_at_random_moments_during_10000_events_loses_nothing_and_applies_once(
    harness: Any, until: Until
) -> None:
    harness.effects_table()
    consumer, consumer_thread = harness.inbox_consumer(harness.topic)
    alive = [harness.start_relay(f"relay-{i}") for i in range(3)]
    stream = harness.stream(count=10_000, aggregates=100, pause_s=0.02)
    rng = random.Random(20261128)
    kills_during_stream = 0
    started = 3
    while not stream.done or kills_during_stream < 3:
        time.sleep(rng.uniform(0.2, 1.2))
        victim = alive.pop(rng.randrange(len(alive)))
        victim.kill()
        if not stream.done:
            kills_during_stream += 1
        alive.append(harness.start_relay(f"relay-{started}"))
        started += 1
        if kills_during_stream >= 12:
            break
    stream.wait()
    assert kills_during_stream >= 3
    ids = set(stream.published)
    assert len(ids) == 10_000
    messages = harness.read_topic(harness.topic, ids)
    # At least once, in order per aggregate (counting first deliveries).
    assert harness.first_deliveries(messages) == stream.expected
    # Exactly once effects through the inbox: counts and a checksum.
    until(lambda: harness.effects()["count"] >= 10_000, "the inbox to apply every event", 300)
    consumer.stop()
    consumer_thread.join(60)
    effects = harness.effects()
    assert effects["count"] == 10_000
    assert effects["distinct"] == 10_000
    assert effects["checksum"] == harness.expected_checksum(ids)
    assert effects["sum"] == sum(sum(ns) for ns in stream.expected.values())
    assert effects["order"] == stream.expected
    duplicates = len(messages) - 10_000
    print(
        f"kills during stream: {kills_during_stream}; duplicates on Kafka: {duplicates}; "
        f"skipped by the inbox: {consumer.stats.duplicates}"
    )
