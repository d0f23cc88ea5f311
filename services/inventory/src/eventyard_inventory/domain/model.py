"""Products, order lines, quotes and stock reservations: prices in integer cents."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from eventyard_inventory.domain.errors import NoLines, OutOfStock, StockBelowReserved, UnknownSku

__all__ = [
    "Line",
    "PricedLine",
    "Product",
    "Quote",
    "StockReservation",
    "hold",
    "price",
    "quantities",
]


@dataclass(frozen=True, kw_only=True)
class Product:
    """A product: ``stock`` units on hand, of which orders hold ``reserved``."""

    sku: str
    name: str
    price: int
    stock: int
    reserved: int = 0

    def __post_init__(self) -> None:
        if not self.sku or not self.name.strip():
            raise ValueError("a product needs a SKU and a name")
        if self.price < 0:
            raise ValueError(f"price {self.price} of {self.sku} is negative")
        if not 0 <= self.reserved <= self.stock:
            raise ValueError(f"{self.sku}: reserved {self.reserved} is outside 0..{self.stock}")

    @property
    def available(self) -> int:
        """Units that further orders may reserve."""
        return self.stock - self.reserved

    def with_stock(self, stock: int) -> Product:
        """The product with ``stock`` on hand; StockBelowReserved when orders hold more."""
        if stock < self.reserved:
            raise StockBelowReserved(self.sku, stock=stock, reserved=self.reserved)
        return replace(self, stock=stock)

    def hold(self, quantity: int) -> Product:
        """``quantity`` more units reserved; OutOfStock when fewer are available."""
        if quantity <= 0:
            raise ValueError(f"cannot hold {quantity} units of {self.sku}")
        if quantity > self.available:
            raise OutOfStock(self.sku, requested=quantity, available=self.available)
        return replace(self, reserved=self.reserved + quantity)

    def release(self, quantity: int) -> Product:
        """``quantity`` held units given back."""
        if not 0 <= quantity <= self.reserved:
            raise ValueError(f"cannot release {quantity} of {self.reserved} held {self.sku}")
        return replace(self, reserved=self.reserved - quantity)


@dataclass(frozen=True, kw_only=True)
class Line:
    """An order line: a SKU and a positive quantity."""

    sku: str
    quantity: int

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"quantity {self.quantity} of {self.sku} is not positive")


@dataclass(frozen=True, kw_only=True)
class PricedLine:
    sku: str
    quantity: int
    unit_price: int


@dataclass(frozen=True, kw_only=True)
class Quote:
    """An order's lines at today's prices."""

    lines: tuple[PricedLine, ...]

    @property
    def total(self) -> int:
        return sum(line.quantity * line.unit_price for line in self.lines)


@dataclass(frozen=True, kw_only=True)
class StockReservation:
    """Units of one SKU an order holds."""

    order_id: uuid.UUID
    sku: str
    quantity: int


def quantities(lines: Iterable[Line]) -> dict[str, int]:
    """Units per SKU, in the order SKUs first appear (a SKU may be on several lines)."""
    wanted: dict[str, int] = {}
    for line in lines:
        wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
    return wanted


def price(lines: Sequence[Line], products: Mapping[str, Product]) -> Quote:
    """Each line at its product's price; NoLines, or UnknownSku for the first unknown SKU."""
    if not lines:
        raise NoLines
    for line in lines:
        if line.sku not in products:
            raise UnknownSku(line.sku)
    return Quote(
        lines=tuple(
            PricedLine(sku=line.sku, quantity=line.quantity, unit_price=products[line.sku].price)
            for line in lines
        )
    )


def hold(lines: Sequence[Line], products: Mapping[str, Product]) -> list[Product]:
    """The products with every line's units reserved: all of them, or none.

    NoLines, UnknownSku or OutOfStock name the first line (in order) that cannot be held.
    """
    if not lines:
        raise NoLines
    held: list[Product] = []
    for sku, quantity in quantities(lines).items():
        product = products.get(sku)
        if product is None:
            raise UnknownSku(sku)
        held.append(product.hold(quantity))
    return held
