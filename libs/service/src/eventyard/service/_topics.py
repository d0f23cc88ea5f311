"""Creating topics before anything subscribes to them (the broker would create them on first
use, with its default partitions, after a warning from every consumer subscribed before)."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

__all__ = ["ensure_topics"]


def ensure_topics(
    bootstrap: str, topics: Iterable[str], *, partitions: int, timeout_s: float = 15.0
) -> list[str]:
    """Create each missing topic with ``partitions`` and the broker's replication factor; the
    topics created. A topic another process created meanwhile is not an error."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})
    existing = admin.list_topics(timeout=timeout_s).topics
    missing = [t for t in topics if t not in existing]
    if not missing:
        return []
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=partitions, replication_factor=-1) for t in missing],
        operation_timeout=timeout_s,
    )
    for future in futures.values():
        try:
            future.result(timeout_s)
        except KafkaException as error:
            if error.args and error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise
    return missing
