"""End-to-end tests drive the reference shop's four services over HTTP, on the real stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.shop_client import ShopClient


@pytest.fixture(scope="session")
def shop(
    orders_url: str,
    customers_url: str,
    inventory_url: str,
    order_history_url: str,
    traces_url: str,
) -> Iterator[ShopClient]:
    client = ShopClient(
        orders=orders_url,
        customers=customers_url,
        inventory=inventory_url,
        order_history=order_history_url,
        traces=traces_url,
    )
    yield client
    client.close()
