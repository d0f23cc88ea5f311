"""The Kafka pieces a service wires: its outbox relay as a worker, consumer settings."""

from __future__ import annotations

import socket
from typing import Any

from eventyard.kafka import Retry
from eventyard.outbox import (
    InboxConfig,
    KafkaSink,
    OutboxTable,
    PostgresOutboxStore,
    Relay,
    RelayConfig,
    TopicRouter,
    producer_config,
)
from eventyard.saga import Participant
from eventyard.service._runtime import Runtime, Worker

__all__ = ["consumer_config", "participant_worker", "relay_worker", "topic_router"]


def topic_router(runtime: Runtime) -> TopicRouter:
    """``<prefix>.{aggregatetype}``: the routing every shop service shares."""
    return TopicRouter(template=runtime.settings.topic_prefix + ".{aggregatetype}")


def relay_worker(
    runtime: Runtime, *, table: OutboxTable | None = None, router: TopicRouter | None = None
) -> Worker:
    """The service's polling relay (ordered, fenced; several replicas share the partitions)."""
    name = f"{runtime.name}-{socket.gethostname()}-{runtime.settings.port}"
    relay = Relay(
        store=PostgresOutboxStore(runtime.dsn, table=table or OutboxTable()),
        sink=lambda: KafkaSink(producer_config(runtime.bootstrap, client_id=f"{name}-relay")),
        config=RelayConfig(
            name=f"{name}-relay",
            router=router or topic_router(runtime),
            poll_interval=0.5,
            rebalance_interval=1.0,
            shutdown_grace=runtime.settings.shutdown_grace_s,
        ),
    )
    return Worker(name="relay", run=relay.run, stop=relay.stop)


def consumer_config(runtime: Runtime, group: str, **extra: Any) -> dict[str, Any]:
    """Consumer settings: a static member (restarts keep their partitions), quick failover."""
    instance = f"{group}.{socket.gethostname()}.{runtime.settings.port}"
    return {
        "bootstrap.servers": runtime.bootstrap,
        "group.id": group,
        "group.instance.id": instance,
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1000,
        "auto.commit.interval.ms": 200,
        # The broker answers a fetch as soon as a record arrives; the wait only bounds how often
        # an idle consumer asks again (each ask costs the broker CPU).
        "fetch.wait.max.ms": 100,
        "topic.metadata.refresh.interval.ms": 5000,
        **extra,
    }


def participant_worker(runtime: Runtime, participant: Participant) -> Worker:
    """A saga participant's command consumer (group ``<prefix>.<participant>``, inbox on)."""
    consumer = participant.consumer(
        consumer_config(runtime, f"{runtime.settings.topic_prefix}.{participant.name}"),
        sessions=runtime.sessions,
        inbox=InboxConfig(
            name=f"saga:{participant.name}",
            topics=(participant.topic,),
            poll_timeout=0.05,
            retry=Retry(attempts=5, wait_initial=0.05, wait_max=10.0, wait_jitter=0.0),
        ),
    )
    return Worker(name="participant", run=consumer.run, stop=consumer.stop)
