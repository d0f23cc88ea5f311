"""The relay's logic on the in-memory store and broker: order, sharing, faults, shutdown."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Collection, Iterator
from datetime import timedelta

import pytest

from eventyard.kafka import Retry
from eventyard.outbox import (
    Cleanup,
    ConfigError,
    Event,
    Outbox,
    OutboxRow,
    OutgoingMessage,
    Relay,
    RelayConfig,
    StoreUnavailable,
)
from eventyard.outbox.testing import (
    BrokerMessage,
    InMemoryBroker,
    InMemoryOutboxStore,
    InMemorySession,
)
from tests.support.eventually import eventually

OUTBOX = Outbox()


def publish(store: InMemoryOutboxStore, *pairs: tuple[str, int]) -> None:
    with store.transaction() as txn:
        for aggregate, n in pairs:
            (record,) = OUTBOX.records(
                [Event(aggregate_type="order", aggregate_id=aggregate, type="E", payload={"n": n})]
            )
            txn.append(record)


def sequence(messages: list[BrokerMessage]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for m in messages:
        seen.setdefault(m.key.decode(), []).append(json.loads(m.value)["n"])
    return seen


def relay(store: InMemoryOutboxStore, broker: InMemoryBroker, name: str, **config: object) -> Relay:
    settings: dict[str, object] = {"name": name, "poll_interval": 0.02, "rebalance_interval": 0.05}
    settings.update(config)
    return Relay(store=store, sink=broker, config=RelayConfig(**settings))  # type: ignore[arg-type]


def drain(*relays: Relay, rounds: int = 200) -> None:
    for _ in range(rounds):
        for r in relays:
            r.step()


@pytest.fixture
def running() -> Iterator[list[tuple[Relay, threading.Thread]]]:
    started: list[tuple[Relay, threading.Thread]] = []
    yield started
    for r, _ in started:
        r.stop()
    for _, t in started:
        t.join(10)


def start(running: list[tuple[Relay, threading.Thread]], r: Relay) -> Relay:
    thread = threading.Thread(target=r.run, daemon=True)
    thread.start()
    running.append((r, thread))
    return r


@pytest.mark.parametrize(("batch_size", "in_flight"), [(500, 2), (4, 1), (4, 2), (7, 3)])
def test_one_relay_sends_every_row_once_in_order_with_the_envelope(
    batch_size: int, in_flight: int
) -> None:
    store, broker = InMemoryOutboxStore(partitions=4), InMemoryBroker()
    publish(store, *[(f"a{i % 3}", i) for i in range(30)])
    r = relay(store, broker, "r1", batch_size=batch_size, batches_in_flight=in_flight)
    drain(r, rounds=20)
    messages = broker.messages("outbox.event.order")
    assert len(messages) == 30
    assert sequence(messages) == {f"a{k}": list(range(k, 30, 3)) for k in range(3)}
    first = messages[0]
    assert first.header("eventType") == "E"
    assert first.header("aggregateType") == "order"
    assert first.header("contentType") == "application/json"
    assert first.header("id") is not None
    assert first.header("traceparent") is None
    assert store.pending() == []
    assert r.status().published == 30


def test_three_relays_split_the_partitions_and_keep_order_per_aggregate() -> None:
    store, broker = InMemoryOutboxStore(partitions=12), InMemoryBroker()
    relays = [relay(store, broker, f"r{i}") for i in range(3)]
    for i in range(300):
        publish(store, (f"agg-{i % 20}", i))
        relays[i % 3].step()
    for _ in range(10):
        time.sleep(0.06)  # past the rebalance interval
        drain(*relays, rounds=3)
    owned = [set(r.status().partitions) for r in relays]
    assert all(owned)
    assert set().union(*owned) == set(range(12))
    assert sum(len(o) for o in owned) == 12  # disjoint
    assert all(len(o) <= 4 for o in owned)
    got = sequence(broker.messages())
    assert got == {f"agg-{k}": list(range(k, 300, 20)) for k in range(20)}


def test_a_dead_relays_partitions_are_taken_over_and_a_joiner_gets_its_share() -> None:
    store, broker = InMemoryOutboxStore(partitions=8), InMemoryBroker()
    a, b = relay(store, broker, "a"), relay(store, broker, "b")
    publish(store, *[(f"x{i % 4}", i) for i in range(40)])
    drain(a, b, rounds=3)
    time.sleep(0.06)
    drain(a, b, rounds=3)
    assert len(a.status().partitions) == 4
    # b dies without a word: its session ends, as PostgreSQL ends a dead client's.
    b_session = b._session
    assert b_session is not None
    b_session.close()
    publish(store, *[(f"x{i % 4}", i) for i in range(40, 80)])
    time.sleep(0.06)
    drain(a, rounds=5)
    assert len(a.status().partitions) == 8
    c = relay(store, broker, "c")
    time.sleep(0.06)
    drain(c, a, c, rounds=3)
    time.sleep(0.06)
    drain(a, c, rounds=3)
    assert len(c.status().partitions) == 4
    assert len(a.status().partitions) == 4
    got = sequence(broker.messages())
    for k in range(4):
        first_seen = list(dict.fromkeys(got[f"x{k}"]))
        assert first_seen == list(range(k, 80, 4))


def test_an_open_writer_holds_later_rows_back_until_it_commits() -> None:
    store, broker = InMemoryOutboxStore(partitions=1), InMemoryBroker()
    r = relay(store, broker, "r")
    slow = store.transaction()
    (record,) = OUTBOX.records(
        [Event(aggregate_type="order", aggregate_id="a", type="E", payload={"n": 1})]
    )
    slow.append(record)
    publish(store, ("a", 2))
    drain(r, rounds=3)
    assert broker.messages() == []
    slow.commit()
    drain(r, rounds=3)
    assert sequence(broker.messages()) == {"a": [1, 2]}


def test_a_refused_message_is_set_aside_and_the_rest_goes_on() -> None:
    def refuse(message: OutgoingMessage) -> str | None:
        return "MSG_SIZE_TOO_LARGE" if json.loads(message.value)["n"] == 2 else None

    store, broker = InMemoryOutboxStore(partitions=2), InMemoryBroker(refuse=refuse)
    publish(store, *[("a", n) for n in range(5)])
    r = relay(store, broker, "r")
    drain(r, rounds=3)
    assert sequence(broker.messages()) == {"a": [0, 1, 3, 4]}
    assert r.status().set_aside == 1
    with store.connect("check") as session:
        assert session.backlog().set_aside == 1


def test_stop_during_a_kafka_outage_returns_the_batch_unmarked(
    running: list[tuple[Relay, threading.Thread]],
) -> None:
    store, broker = InMemoryOutboxStore(partitions=2), InMemoryBroker(down=True)
    publish(store, *[("a", n) for n in range(10)])
    r = start(running, relay(store, broker, "r", shutdown_grace=0.2))
    eventually(
        lambda: broker.blocked_sends > 0,
        timeout=10,
        interval=0.01,
        description="broker.blocked_sends > 0",
    )
    assert not r.status().ready
    r.stop()
    running[0][1].join(5)
    assert not running[0][1].is_alive()
    assert broker.messages() == []
    assert len(store.pending()) == 10  # returned: the next relay sends them
    assert r.status().returned == 10
    broker.down = False
    drain(relay(store, broker, "next"), rounds=3)
    assert sequence(broker.messages()) == {"a": list(range(10))}


def test_an_outage_of_the_store_is_waited_out(
    running: list[tuple[Relay, threading.Thread]],
) -> None:
    store, broker = InMemoryOutboxStore(partitions=2), InMemoryBroker()
    fast = Retry(attempts=None, timeout=None, wait_initial=0.01, wait_max=0.05, wait_jitter=0.0)
    r = start(running, relay(store, broker, "r", retry=fast))
    publish(store, ("a", 1))
    eventually(
        lambda: len(broker.messages()) == 1,
        timeout=10,
        interval=0.01,
        description="len(broker.messages()) == 1",
    )
    store.available = False
    time.sleep(0.1)
    assert not r.status().ready
    publish(store, ("a", 2))
    store.available = True
    eventually(
        lambda: len(broker.messages()) == 2,
        timeout=10,
        interval=0.01,
        description="len(broker.messages()) == 2",
    )
    assert sequence(broker.messages()) == {"a": [1, 2]}


def test_a_connect_failure_is_retryable() -> None:
    store = InMemoryOutboxStore()
    store.available = False
    with pytest.raises(StoreUnavailable):
        store.connect("r")


def test_retention_keeps_rows_then_cleans_them_up() -> None:
    store = InMemoryOutboxStore(
        partitions=2, cleanup=Cleanup(retention=timedelta(0), interval=timedelta(0))
    )
    broker = InMemoryBroker()
    publish(store, ("a", 1))
    r = relay(store, broker, "r")
    r.step()
    r.step()
    assert len(broker.messages()) == 1
    r.step()
    assert store.rows() == []


def test_the_health_endpoint_reports_liveness_readiness_and_metrics(
    running: list[tuple[Relay, threading.Thread]],
) -> None:
    store, broker = InMemoryOutboxStore(partitions=2), InMemoryBroker()
    r = start(running, relay(store, broker, "r", health_port=0))
    eventually(
        lambda: r.health_port is not None and r.status().ready,
        timeout=10,
        interval=0.01,
        description="r.health_port is not None and r.status().ready",
    )
    port = r.health_port
    publish(store, ("a", 1))
    eventually(
        lambda: r.status().published == 1,
        timeout=10,
        interval=0.01,
        description="r.status().published == 1",
    )
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as response:
        assert json.loads(response.read())["live"] is True
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as response:
        assert json.loads(response.read())["ready"] is True
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as response:
        text = response.read().decode()
    assert "eventyard_outbox_published_total 1.0" in text
    assert "eventyard_outbox_batch_seconds_bucket" in text
    assert "eventyard_outbox_backlog" in text
    broker.down = True
    publish(store, ("a", 2))
    eventually(
        lambda: broker.blocked_sends > 0,
        timeout=10,
        interval=0.01,
        description="broker.blocked_sends > 0",
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz")
    assert caught.value.code == 503
    broker.down = False
    eventually(
        lambda: r.status().published == 2,
        timeout=10,
        interval=0.01,
        description="r.status().published == 2",
    )


class FlakyStore(InMemoryOutboxStore):
    """A store whose first session fails its first fetch with a non-outage error."""

    failures = 1

    def connect(self, member: str) -> InMemorySession:
        session = super().connect(member)
        if self.failures:
            self.failures -= 1
            original = session.fetch

            def broken(
                partitions: Collection[int], *, after: int, upto: int, limit: int
            ) -> list[OutboxRow]:
                session.fetch = original  # type: ignore[method-assign]
                raise RuntimeError("a constraint the relay did not expect")

            session.fetch = broken  # type: ignore[method-assign]
        return session


def test_an_unexpected_error_starts_over_instead_of_killing_the_relay(
    running: list[tuple[Relay, threading.Thread]],
) -> None:
    store, broker = FlakyStore(partitions=2), InMemoryBroker()
    publish(store, ("a", 1), ("a", 2))
    r = start(running, relay(store, broker, "r", retry=Retry(wait_initial=0.01, wait_jitter=0.0)))
    eventually(
        lambda: len(broker.messages()) == 2,
        timeout=10,
        interval=0.01,
        description="len(broker.messages()) == 2",
    )
    assert sequence(broker.messages()) == {"a": [1, 2]}
    assert r.metrics.errors._value.get() == 1


def test_the_old_retry_settings_still_work_and_warn() -> None:
    with pytest.deprecated_call(match=r"retry=Retry\(wait_initial=\.\.\., wait_max=\.\.\.\)"):
        config = RelayConfig(retry_initial=0.01, retry_max=0.05)
    assert (config.retry.wait_initial, config.retry.wait_max) == (0.01, 0.05)
    assert config.retry.attempts is None  # outages are waited out for as long as they last
    with pytest.raises(ConfigError, match="wait_initial"), pytest.deprecated_call():
        RelayConfig(retry_initial=-1.0)
