"""Customers and credit reservations: amounts in integer cents."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from eventyard_customers.domain.errors import InsufficientCredit

__all__ = ["CreditReservation", "Customer"]


@dataclass(frozen=True, kw_only=True)
class Customer:
    """A customer whose orders may hold up to ``credit_limit`` at a time.

    ``credit_reserved`` is the total the customer's orders hold (pending or approved); it never
    goes below zero nor above the limit.
    """

    id: uuid.UUID
    name: str
    credit_limit: int
    credit_reserved: int = 0

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ValueError("a customer needs a name")
        if self.credit_limit < 0:
            raise ValueError(f"credit limit {self.credit_limit} is negative")
        if not 0 <= self.credit_reserved <= self.credit_limit:
            raise ValueError(
                f"credit reserved {self.credit_reserved} is outside 0..{self.credit_limit}"
            )

    @classmethod
    def open(cls, *, name: str, credit_limit: int) -> Customer:
        """A new customer with nothing reserved."""
        return cls(id=uuid.uuid4(), name=name, credit_limit=credit_limit)

    @property
    def credit_available(self) -> int:
        """What further orders may still reserve."""
        return self.credit_limit - self.credit_reserved

    def reserve(self, amount: int) -> Customer:
        """The customer with ``amount`` more reserved; InsufficientCredit when it does not fit."""
        if amount < 0:
            raise ValueError(f"cannot reserve a negative amount ({amount})")
        if amount > self.credit_available:
            raise InsufficientCredit(available=self.credit_available, total=amount)
        return replace(self, credit_reserved=self.credit_reserved + amount)

    def release(self, amount: int) -> Customer:
        """The customer with ``amount`` of its reserved credit given back."""
        if not 0 <= amount <= self.credit_reserved:
            raise ValueError(f"cannot release {amount} of {self.credit_reserved} reserved")
        return replace(self, credit_reserved=self.credit_reserved - amount)


@dataclass(frozen=True, kw_only=True)
class CreditReservation:
    """The credit one order holds: at most one per order."""

    order_id: uuid.UUID
    customer_id: uuid.UUID
    amount: int
