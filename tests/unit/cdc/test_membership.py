"""Which partitions of the subscribed topics the group's assignment misses."""

from __future__ import annotations

import pytest

from eventyard.cdc._membership import GroupCoverage, is_static, uncovered

pytestmark = pytest.mark.unit


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
