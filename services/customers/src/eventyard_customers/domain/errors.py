"""The customers service's business refusals; ``reason`` is what a saga reply or HTTP answer says.

::

    CustomersError
    ├── UnknownCustomer        no customer has that id
    └── InsufficientCredit     the order's total is over the customer's available credit
"""

from __future__ import annotations

__all__ = ["CustomersError", "InsufficientCredit", "UnknownCustomer"]


class CustomersError(Exception):
    """A business refusal; ``reason`` is its one-line explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownCustomer(CustomersError):
    def __init__(self, customer_id: object) -> None:
        super().__init__(f"unknown customer {customer_id}")


class InsufficientCredit(CustomersError):
    def __init__(self, *, available: int, total: int) -> None:
        super().__init__(f"insufficient credit: available {available}, order total {total}")
        self.available = available
        self.total = total
