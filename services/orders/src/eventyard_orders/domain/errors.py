"""The orders service's errors.

::

    OrdersError
    ├── OrderNotFound          no order has that id (HTTP 404)
    └── IdempotencyConflict    the key was used with another request body (HTTP 409)
"""

from __future__ import annotations

import uuid

__all__ = ["IdempotencyConflict", "OrderNotFound", "OrdersError"]


class OrdersError(Exception):
    """Base of the orders service's errors."""


class OrderNotFound(OrdersError):
    """No order has the id."""

    def __init__(self, order_id: uuid.UUID) -> None:
        self.order_id = order_id
        super().__init__(f"no order {order_id}")


class IdempotencyConflict(OrdersError):
    """The ``Idempotency-Key`` names an order placed with a different request."""

    def __init__(self, key: str, order_id: uuid.UUID) -> None:
        self.key = key
        self.order_id = order_id
        super().__init__(
            f"Idempotency-Key {key!r} was used for order {order_id} with a different request body"
        )
