"""Static group membership (``group.instance.id``) and topics created after the group formed.

A static member that rejoins gets the group's previous assignment back, without a rebalance
(KIP-345; a rejoining leader skips the assignment, KIP-814). A subscribed topic created since
that assignment was made is then assigned to nobody, and nothing notices: the rejoining
member's first metadata already lists the topic, so it sees no change to react to. Debezium
creates a table's topic at the table's first event, so this is what happens to a projection
restarted after a new table's first change; and to an inbox restarted after a topic's first
message, where brokers create topics on first use.

:class:`GroupCoverage` finds such partitions; :class:`StaticMemberGuard` has the consumer rejoin
with a full rebalance when there are some.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import structlog
from confluent_kafka import Consumer, ConsumerGroupState, KafkaException
from confluent_kafka.admin import AdminClient

__all__ = ["GroupCoverage", "StaticMemberGuard", "TopicPartitionKey", "is_static", "uncovered"]

_log = structlog.get_logger("eventyard.kafka")

TopicPartitionKey = tuple[str, int]

# Settings an admin client needs to reach the same cluster as the consumer.
_SHARED_PREFIXES = ("bootstrap.servers", "security.", "sasl.", "ssl.", "client.id", "socket.")


def is_static(settings: Mapping[str, Any]) -> bool:
    """True when consumer ``settings`` make a static group member."""
    return bool(settings.get("group.instance.id"))


def uncovered(
    partitions: Mapping[str, int], assigned: Iterable[TopicPartitionKey]
) -> list[TopicPartitionKey]:
    """The partitions of ``partitions`` (topic -> partition count) that no member holds."""
    held = set(assigned)
    return [
        (topic, partition)
        for topic, count in sorted(partitions.items())
        for partition in range(count)
        if (topic, partition) not in held
    ]


class GroupCoverage:
    """Compares the group's assignment with the partitions of the topics it subscribes to."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        *,
        topics: Collection[str] = (),
        pattern: str | None = None,
    ) -> None:
        self.group = str(settings["group.id"])
        self._admin_settings = {k: v for k, v in settings.items() if k.startswith(_SHARED_PREFIXES)}
        self._admin: AdminClient | None = None
        self._topics = frozenset(topics)
        self._pattern = re.compile(pattern) if pattern is not None else None

    def subscribed(self, consumer: Consumer, timeout_s: float = 10.0) -> dict[str, int]:
        """Topic -> partition count, for the existing topics the subscription covers."""
        metadata = consumer.list_topics(timeout=timeout_s)
        return {
            name: len(topic.partitions)
            for name, topic in metadata.topics.items()
            if topic.error is None and self._matches(name)
        }

    def missing(
        self, consumer: Consumer, timeout_s: float = 10.0
    ) -> list[TopicPartitionKey] | None:
        """Partitions of subscribed topics that no member of the group holds.

        None when that cannot be told now: the group is rebalancing (only a settled
        assignment tells) or the broker did not answer.
        """
        if self._admin is None:
            self._admin = AdminClient(self._admin_settings)
        try:
            futures = self._admin.describe_consumer_groups([self.group], request_timeout=timeout_s)
            group = futures[self.group].result(timeout_s)
            if group.state != ConsumerGroupState.STABLE:
                return None
            partitions = self.subscribed(consumer, timeout_s)
        except (KafkaException, TimeoutError):
            return None
        assigned = [
            (tp.topic, tp.partition)
            for member in group.members
            if member.assignment is not None
            for tp in member.assignment.topic_partitions
        ]
        return uncovered(partitions, assigned)

    def _matches(self, topic: str) -> bool:
        if self._pattern is None:
            return topic in self._topics
        return not topic.startswith("__") and self._pattern.match(topic) is not None


class StaticMemberGuard:
    """Checks, after each assignment of a static member, that its group holds every partition of
    the subscribed topics, and has the consumer rejoin when some have no member.

    Call :meth:`assigned` from the consumer's ``on_assign`` callback and :meth:`check` between
    polls (it returns at once unless a check is due). ``rejoin`` must leave the group's
    assignment and subscribe again (``consumer.unsubscribe()`` then ``consumer.subscribe(...)``):
    that rejoins with a full rebalance, computed from the topics that exist now. Rejoins happen
    at most once every ``rejoin_every_s``; a check that cannot tell (the group is rebalancing,
    the broker does not answer) is tried again after ``retry_s``.
    """

    def __init__(
        self,
        coverage: GroupCoverage,
        *,
        rejoin_every_s: float = 30.0,
        retry_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.coverage = coverage
        self._rejoin_every_s = rejoin_every_s
        self._retry_s = retry_s
        self._clock = clock
        self._due: float | None = None
        self._rejoined_at = -rejoin_every_s

    @classmethod
    def for_consumer(
        cls,
        settings: Mapping[str, Any],
        *,
        topics: Collection[str] = (),
        pattern: str | None = None,
    ) -> StaticMemberGuard | None:
        """A guard for a consumer with ``settings``; None unless it is a static member."""
        if not is_static(settings):
            return None
        return cls(GroupCoverage(settings, topics=topics, pattern=pattern))

    def assigned(self) -> None:
        """The consumer was given partitions: check the group's assignment (not sooner than
        ``rejoin_every_s`` after the last rejoin)."""
        self._due = max(self._clock(), self._rejoined_at + self._rejoin_every_s)

    def check(self, consumer: Consumer, rejoin: Callable[[], None]) -> list[TopicPartitionKey]:
        """When a check is due: the partitions no member holds, after calling ``rejoin`` for
        them (empty when all are held, or nothing was due)."""
        if self._due is None or self._clock() < self._due:
            return []
        missing = self.coverage.missing(consumer)
        if missing is None:  # rebalancing, or no answer: look again shortly
            self._due = self._clock() + self._retry_s
            return []
        self._due = None
        if missing:
            _log.warning(
                "partitions held by no group member; rejoining the group",
                group=self.coverage.group,
                partitions=missing,
            )
            self._rejoined_at = self._clock()
            rejoin()
        return missing
