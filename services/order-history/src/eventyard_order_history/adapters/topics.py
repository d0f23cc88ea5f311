"""Creating the Debezium topics before anything subscribes to them.

Debezium creates a table's topic at its first change; the projection and the faust app would
otherwise subscribe to a topic that is not there yet. Creating them here also fixes their
partition count (one: see :func:`~eventyard_order_history.adapters.debezium.connector_config`).
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

__all__ = ["ensure_topics"]


def ensure_topics(bootstrap: str, topics: Iterable[str], *, timeout_s: float = 15.0) -> None:
    """Create each missing topic with one partition and the broker's replication factor."""
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 5000})
    existing = admin.list_topics(timeout=timeout_s).topics
    missing = [t for t in topics if t not in existing]
    if not missing:
        return
    futures = admin.create_topics(
        [NewTopic(t, num_partitions=1, replication_factor=-1) for t in missing],
        operation_timeout=timeout_s,
    )
    for future in futures.values():
        try:
            future.result(timeout_s)
        except KafkaException as error:
            if error.args and error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue
            raise
