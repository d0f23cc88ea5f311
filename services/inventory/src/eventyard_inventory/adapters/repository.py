"""Products and stock reservations in PostgreSQL. Every row written keeps the current span's
``traceparent``, so change-data capture can join the trace that changed it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from eventyard.telemetry import current_traceparent
from eventyard_inventory.adapters.tables import products, stock_reservations
from eventyard_inventory.domain.model import Product, StockReservation

__all__ = ["ProductRepository"]


class ProductRepository:
    """Reads and writes in the caller's session; the caller owns the transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, product: Product) -> bool:
        """Insert the product; False (and nothing written) when its SKU exists already."""
        inserted = self.session.execute(
            insert(products)
            .values(
                sku=product.sku,
                name=product.name,
                price=product.price,
                stock=product.stock,
                reserved=product.reserved,
                traceparent=current_traceparent(),
            )
            .on_conflict_do_nothing(index_elements=[products.c.sku])
            .returning(products.c.sku)
        ).first()
        return inserted is not None

    def get(self, sku: str, *, for_update: bool = False) -> Product | None:
        """The product, or None; ``for_update`` locks its row until the transaction ends."""
        return self.get_many([sku], for_update=for_update).get(sku)

    def get_many(self, skus: Collection[str], *, for_update: bool = False) -> dict[str, Product]:
        """The products of those SKUs that exist; ``for_update`` locks them in SKU order."""
        query = sa.select(products).where(products.c.sku.in_(set(skus))).order_by(products.c.sku)
        rows = self.session.execute(query.with_for_update() if for_update else query)
        return {
            row.sku: Product(
                sku=row.sku,
                name=row.name,
                price=row.price,
                stock=row.stock,
                reserved=row.reserved,
            )
            for row in rows
        }

    def save(self, product: Product) -> None:
        """Store the product's stock and reserved units (the fields that change)."""
        self.session.execute(
            products.update()
            .where(products.c.sku == product.sku)
            .values(
                stock=product.stock, reserved=product.reserved, traceparent=current_traceparent()
            )
        )

    def reservations(self, order_id: uuid.UUID) -> list[StockReservation]:
        rows = self.session.execute(
            sa.select(stock_reservations)
            .where(stock_reservations.c.order_id == order_id)
            .order_by(stock_reservations.c.sku)
        )
        return [_reservation(row) for row in rows]

    def add_reservations(self, reservations: Sequence[StockReservation]) -> None:
        traceparent = current_traceparent()
        self.session.execute(
            stock_reservations.insert(),
            [
                {
                    "order_id": r.order_id,
                    "sku": r.sku,
                    "quantity": r.quantity,
                    "traceparent": traceparent,
                }
                for r in reservations
            ],
        )

    def remove_reservations(self, order_id: uuid.UUID) -> list[StockReservation]:
        """Delete what the order holds; the reservations deleted (none when it held nothing)."""
        rows = self.session.execute(
            stock_reservations.delete()
            .where(stock_reservations.c.order_id == order_id)
            .returning(*stock_reservations.c)
        )
        return sorted((_reservation(row) for row in rows), key=lambda r: r.sku)


def _reservation(row: sa.Row[tuple[object, ...]]) -> StockReservation:
    return StockReservation(order_id=row.order_id, sku=row.sku, quantity=row.quantity)
