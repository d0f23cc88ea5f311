"""Fixtures of the order-history integration tests: fresh orders and customers source databases
shaped like the shop's, a unique topic prefix, and cleanup of whatever the test registered
(connectors, replication slots, databases; topics through ``topics_made``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.integration.order_history.shop import Shop


@pytest.fixture
def shop(
    pg_dsn: str,
    connect_url: str,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    topics_made: list[str],
) -> Iterator[Shop]:
    made = Shop(pg_dsn, unique_name)
    topics_made.extend(made.topic_prefixes())
    yield made
    made.remove(connect_url)
