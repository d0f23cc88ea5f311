"""Which partitions of the subscribed topics the group's assignment misses, and when a static
member rejoins for them."""

from __future__ import annotations

from typing import Any

from eventyard.kafka import (
    GroupCoverage,
    StaticMemberGuard,
    TopicPartitionKey,
    is_static,
    uncovered,
)


def test_uncovered_lists_each_partition_no_member_holds_in_order() -> None:
    partitions = {"shop.public.orders": 3, "shop.public.customers": 1}
    assigned = [("shop.public.orders", 0), ("shop.public.orders", 2), ("other", 0)]
    assert uncovered(partitions, assigned) == [
        ("shop.public.customers", 0),
        ("shop.public.orders", 1),
    ]
    assert uncovered({"t": 2}, [("t", 1), ("t", 0)]) == []


def test_only_a_group_instance_id_makes_a_static_member() -> None:
    assert is_static({"group.id": "g", "group.instance.id": "g-1"})
    assert not is_static({"group.id": "g"})
    assert not is_static({"group.id": "g", "group.instance.id": ""})


def test_the_admin_client_gets_only_the_settings_that_reach_the_cluster() -> None:
    coverage = GroupCoverage(
        {
            "bootstrap.servers": "broker:9092",
            "group.id": "g",
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "PLAIN",
            "ssl.ca.location": "/ca.pem",
            "isolation.level": "read_committed",
            "fetch.queue.backoff.ms": 20,
        },
        topics=("a",),
    )
    assert coverage._admin_settings == {
        "bootstrap.servers": "broker:9092",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "ssl.ca.location": "/ca.pem",
    }


def test_a_pattern_subscription_matches_from_the_start_and_skips_internal_topics() -> None:
    coverage = GroupCoverage({"group.id": "g"}, pattern=r"shop\.public\..*")
    assert coverage._matches("shop.public.orders")
    assert not coverage._matches("x.shop.public.orders")
    assert not coverage._matches("__consumer_offsets")
    listed = GroupCoverage({"group.id": "g"}, topics=("a", "b"))
    assert listed._matches("a")
    assert not listed._matches("c")


class _Answers(GroupCoverage):
    """Coverage answers given in advance, in order (the scheduling is what is tested here)."""

    def __init__(self, *answers: list[TopicPartitionKey] | None) -> None:
        super().__init__({"group.id": "g"}, topics=("t",))
        self.answers = list(answers)
        self.asked = 0

    def missing(self, consumer: Any, timeout_s: float = 10.0) -> list[TopicPartitionKey] | None:
        self.asked += 1
        return self.answers.pop(0)


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_guard_checks_only_after_an_assignment_and_rejoins_for_missing_partitions() -> None:
    clock, rejoins = _Clock(), []
    coverage = _Answers([("t", 1)], [])
    guard = StaticMemberGuard(coverage, rejoin_every_s=30, clock=clock)
    assert guard.check(None, lambda: rejoins.append(1)) == []  # type: ignore[arg-type]
    assert coverage.asked == 0
    guard.assigned()
    assert guard.check(None, lambda: rejoins.append(1)) == [("t", 1)]  # type: ignore[arg-type]
    assert rejoins == [1]
    guard.assigned()  # the rebalance the rejoin caused: checked again 30 s after the rejoin
    assert guard.check(None, lambda: rejoins.append(1)) == []  # type: ignore[arg-type]
    assert coverage.asked == 1
    clock.now += 30
    assert guard.check(None, lambda: rejoins.append(1)) == []  # type: ignore[arg-type]
    assert coverage.asked == 2
    assert rejoins == [1]


def test_a_check_that_cannot_tell_is_tried_again_shortly() -> None:
    clock, rejoins = _Clock(), []
    coverage = _Answers(None, [("t", 0)])
    guard = StaticMemberGuard(coverage, retry_s=2, clock=clock)
    guard.assigned()
    assert guard.check(None, lambda: rejoins.append(1)) == []  # type: ignore[arg-type]
    clock.now += 1
    assert guard.check(None, lambda: rejoins.append(1)) == []  # type: ignore[arg-type]
    assert coverage.asked == 1
    clock.now += 1
    assert guard.check(None, lambda: rejoins.append(1)) == [("t", 0)]  # type: ignore[arg-type]
    assert rejoins == [1]


def test_only_static_members_get_a_guard() -> None:
    assert StaticMemberGuard.for_consumer({"group.id": "g"}, topics=("t",)) is None
    guard = StaticMemberGuard.for_consumer(
        {"group.id": "g", "group.instance.id": "g-1"}, topics=("t",)
    )
    assert guard is not None
    assert guard.coverage.group == "g"
