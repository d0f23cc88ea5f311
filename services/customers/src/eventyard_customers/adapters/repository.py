"""Customers and reservations in PostgreSQL. Every row written keeps the current span's
``traceparent``, so change-data capture can join the trace that changed it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventyard.telemetry import current_traceparent
from eventyard_customers.adapters.tables import credit_reservations, customers
from eventyard_customers.domain.model import CreditReservation, Customer

__all__ = ["CustomerRepository"]


class CustomerRepository:
    """Reads and writes in the caller's session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, customer: Customer) -> None:
        self.session.execute(
            customers.insert().values(
                id=customer.id,
                name=customer.name,
                credit_limit=customer.credit_limit,
                credit_reserved=customer.credit_reserved,
                traceparent=current_traceparent(),
            )
        )

    def get(self, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
        """The customer, or None; ``for_update`` locks its row until the transaction ends."""
        query = sa.select(customers).where(customers.c.id == customer_id)
        row = self.session.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            return None
        return Customer(
            id=row.id,
            name=row.name,
            credit_limit=row.credit_limit,
            credit_reserved=row.credit_reserved,
        )

    def save(self, customer: Customer) -> None:
        """Store the customer's reserved credit (the only field that changes)."""
        self.session.execute(
            customers.update()
            .where(customers.c.id == customer.id)
            .values(credit_reserved=customer.credit_reserved, traceparent=current_traceparent())
        )

    def reservation(self, order_id: uuid.UUID) -> CreditReservation | None:
        row = self.session.execute(
            sa.select(credit_reservations).where(credit_reservations.c.order_id == order_id)
        ).first()
        return None if row is None else _reservation(row)

    def add_reservation(self, reservation: CreditReservation) -> None:
        self.session.execute(
            credit_reservations.insert().values(
                order_id=reservation.order_id,
                customer_id=reservation.customer_id,
                amount=reservation.amount,
                traceparent=current_traceparent(),
            )
        )

    def remove_reservation(self, order_id: uuid.UUID) -> CreditReservation | None:
        """Delete the order's reservation; what it held, or None when it held nothing."""
        row = self.session.execute(
            credit_reservations.delete()
            .where(credit_reservations.c.order_id == order_id)
            .returning(*credit_reservations.c)
        ).first()
        return None if row is None else _reservation(row)


def _reservation(row: sa.Row[tuple[object, ...]]) -> CreditReservation:
    return CreditReservation(order_id=row.order_id, customer_id=row.customer_id, amount=row.amount)
