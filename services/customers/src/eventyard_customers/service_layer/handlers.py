"""What the service does: open customers, read them, reserve and release an order's credit.

Each function works in the caller's session and never commits: an HTTP route wraps it in
``session.begin()``, the saga participant runs it in the inbox's transaction.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from eventyard_customers.adapters.repository import CustomerRepository
from eventyard_customers.domain.errors import UnknownCustomer
from eventyard_customers.domain.model import CreditReservation, Customer

__all__ = ["get_customer", "open_customer", "release_credit", "reserve_credit"]


def open_customer(session: Session, *, name: str, credit_limit: int) -> Customer:
    """A new customer with ``credit_limit`` cents of credit and nothing reserved."""
    customer = Customer.open(name=name, credit_limit=credit_limit)
    CustomerRepository(session).add(customer)
    return customer


def get_customer(session: Session, customer_id: uuid.UUID) -> Customer:
    """The customer; UnknownCustomer when there is none with that id."""
    customer = CustomerRepository(session).get(customer_id)
    if customer is None:
        raise UnknownCustomer(customer_id)
    return customer


def reserve_credit(
    session: Session, *, order_id: uuid.UUID, customer_id: uuid.UUID, amount: int
) -> CreditReservation:
    """Hold ``amount`` of the customer's credit for the order.

    An order holds one reservation: asking again returns the one it has, with no further
    effect. UnknownCustomer or InsufficientCredit refuse it.
    """
    repository = CustomerRepository(session)
    customer = repository.get(customer_id, for_update=True)
    if customer is None:
        raise UnknownCustomer(customer_id)
    held = repository.reservation(order_id)
    if held is not None:
        return held
    repository.save(customer.reserve(amount))
    reservation = CreditReservation(order_id=order_id, customer_id=customer_id, amount=amount)
    repository.add_reservation(reservation)
    return reservation


def release_credit(session: Session, *, order_id: uuid.UUID) -> CreditReservation | None:
    """Give back what the order holds; what was released, None when it held nothing."""
    repository = CustomerRepository(session)
    reservation = repository.remove_reservation(order_id)
    if reservation is None:
        return None
    customer = repository.get(reservation.customer_id, for_update=True)
    if customer is None:  # the foreign key makes this impossible
        raise UnknownCustomer(reservation.customer_id)
    repository.save(customer.release(reservation.amount))
    return reservation
