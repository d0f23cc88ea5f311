"""What the service does: add products, set and read stock, price an order's lines, reserve
and release an order's stock.

Each function works in the caller's session and never commits: an HTTP route wraps it in
``session.begin()``, the saga participant runs it in the inbox's transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session

from eventyard_inventory.adapters.repository import ProductRepository
from eventyard_inventory.domain.errors import DuplicateSku, UnknownSku
from eventyard_inventory.domain.model import (
    Line,
    Product,
    Quote,
    StockReservation,
    hold,
    price,
    quantities,
)

__all__ = [
    "add_product",
    "get_product",
    "price_order",
    "release_stock",
    "reserve_stock",
    "set_stock",
]


def add_product(session: Session, *, sku: str, name: str, price: int, stock: int) -> Product:
    """A new product with nothing reserved; DuplicateSku when the SKU exists."""
    product = Product(sku=sku, name=name, price=price, stock=stock)
    if not ProductRepository(session).add(product):
        raise DuplicateSku(sku)
    return product


def get_product(session: Session, sku: str) -> Product:
    """The product; UnknownSku when there is none."""
    product = ProductRepository(session).get(sku)
    if product is None:
        raise UnknownSku(sku)
    return product


def set_stock(session: Session, sku: str, stock: int) -> Product:
    """Set the units on hand; StockBelowReserved when orders hold more than ``stock``."""
    repository = ProductRepository(session)
    product = repository.get(sku, for_update=True)
    if product is None:
        raise UnknownSku(sku)
    updated = product.with_stock(stock)
    repository.save(updated)
    return updated


def price_order(session: Session, lines: Sequence[Line]) -> Quote:
    """The lines at today's prices (reads only); NoLines or UnknownSku refuse it."""
    return price(lines, ProductRepository(session).get_many({line.sku for line in lines}))


def reserve_stock(
    session: Session, *, order_id: uuid.UUID, lines: Sequence[Line]
) -> list[StockReservation]:
    """Hold every line's units for the order, all or none (``stock - reserved >= quantity``).

    An order reserves once: asking again returns what it holds, with no further effect.
    NoLines, UnknownSku or OutOfStock refuse it, leaving everything as it was.
    """
    repository = ProductRepository(session)
    held = repository.get_many({line.sku for line in lines}, for_update=True)
    already = repository.reservations(order_id)
    if already:
        return already
    for product in hold(lines, held):
        repository.save(product)
    reservations = [
        StockReservation(order_id=order_id, sku=sku, quantity=quantity)
        for sku, quantity in sorted(quantities(lines).items())
    ]
    repository.add_reservations(reservations)
    return reservations


def release_stock(session: Session, *, order_id: uuid.UUID) -> list[StockReservation]:
    """Give back what the order holds; the reservations released (none when it held nothing)."""
    repository = ProductRepository(session)
    released = repository.remove_reservations(order_id)
    products = repository.get_many({r.sku for r in released}, for_update=True)
    for reservation in released:
        repository.save(products[reservation.sku].release(reservation.quantity))
    return released
