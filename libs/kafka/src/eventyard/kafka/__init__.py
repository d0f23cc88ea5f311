"""Kafka consumer-group helpers shared by Eventyard's libraries.

- :class:`StaticMemberGuard`: a static group member (``group.instance.id``) gets its group's
  old assignment back when it restarts, which lacks any topic created since. The guard notices
  partitions that no member holds and has the consumer rejoin with a full rebalance.
"""

from eventyard.kafka._membership import (
    GroupCoverage,
    StaticMemberGuard,
    TopicPartitionKey,
    is_static,
    uncovered,
)

__all__ = ["GroupCoverage", "StaticMemberGuard", "TopicPartitionKey", "is_static", "uncovered"]
