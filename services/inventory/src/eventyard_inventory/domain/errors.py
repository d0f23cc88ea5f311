"""The inventory service's business refusals; ``reason`` is what a saga reply or HTTP answer says.

::

    InventoryError
    ├── UnknownSku             no product has that SKU
    ├── NoLines                an order without lines
    ├── OutOfStock             a line asks for more than is on hand and not reserved
    ├── DuplicateSku           a product with that SKU exists already
    └── StockBelowReserved     the new stock would be less than the units orders hold
"""

from __future__ import annotations

__all__ = [
    "DuplicateSku",
    "InventoryError",
    "NoLines",
    "OutOfStock",
    "StockBelowReserved",
    "UnknownSku",
]


class InventoryError(Exception):
    """A business refusal; ``reason`` is its one-line explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownSku(InventoryError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"unknown sku {sku}")
        self.sku = sku


class NoLines(InventoryError):
    def __init__(self) -> None:
        super().__init__("no lines")


class OutOfStock(InventoryError):
    def __init__(self, sku: str, *, requested: int, available: int) -> None:
        super().__init__(f"out of stock: {sku} (requested {requested}, available {available})")
        self.sku = sku
        self.requested = requested
        self.available = available


class DuplicateSku(InventoryError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"product {sku} exists already")


class StockBelowReserved(InventoryError):
    def __init__(self, sku: str, *, stock: int, reserved: int) -> None:
        super().__init__(f"stock {stock} of {sku} is below the {reserved} units orders hold")
