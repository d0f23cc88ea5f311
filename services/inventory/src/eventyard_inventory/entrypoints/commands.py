"""The saga participant: ``PriceOrder``, ``ReserveStock`` and ``ReleaseStock`` from the order saga.

Each carries ``{"order_id", "lines": [{"sku", "quantity"}]}``.

- ``PriceOrder`` (reads only) replies ``{"lines": [{"sku", "quantity", "unit_price"}],
  "total"}``, or is rejected with ``no lines`` / ``unknown sku <sku>``.
- ``ReserveStock`` holds every line's units or none, replies ``{"lines": [{"sku",
  "quantity"}]}`` (units held per SKU), or is rejected with ``out of stock: <sku> (requested
  q, available a)`` (or ``unknown sku``, ``no lines``).
- ``ReleaseStock`` gives back what the order holds (nothing when it holds nothing) and replies
  ``{"lines": [...]}``, the units released.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, PositiveInt
from sqlalchemy.orm import Session

from eventyard.outbox import Outbox
from eventyard.saga import CommandEnvelope, CommandRejected, InvalidSagaData, Participant
from eventyard_inventory.domain.errors import InventoryError
from eventyard_inventory.domain.model import Line, StockReservation
from eventyard_inventory.service_layer.handlers import price_order, release_stock, reserve_stock

__all__ = ["LinePayload", "OrderLines", "participant"]


class LinePayload(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    quantity: PositiveInt


class OrderLines(BaseModel):
    """The payload of every inventory command."""

    model_config = ConfigDict(frozen=True)

    order_id: uuid.UUID
    lines: list[LinePayload]

    def domain_lines(self) -> list[Line]:
        return [Line(sku=line.sku, quantity=line.quantity) for line in self.lines]


def participant(outbox: Outbox) -> Participant:
    """The ``inventory`` participant; ``outbox`` publishes its replies."""
    commands = Participant("inventory", outbox=outbox)
    commands.register("PriceOrder", _price)
    commands.register("ReserveStock", _reserve)
    commands.register("ReleaseStock", _release)
    return commands


def _price(session: Session, command: CommandEnvelope) -> dict[str, Any]:
    try:
        quote = price_order(session, _parse(command).domain_lines())
    except InventoryError as error:
        raise CommandRejected(error.reason) from error
    lines = [
        {"sku": line.sku, "quantity": line.quantity, "unit_price": line.unit_price}
        for line in quote.lines
    ]
    return {"lines": lines, "total": quote.total}


def _reserve(session: Session, command: CommandEnvelope) -> dict[str, Any]:
    body = _parse(command)
    try:
        held = reserve_stock(session, order_id=body.order_id, lines=body.domain_lines())
    except InventoryError as error:
        raise CommandRejected(error.reason) from error
    return {"lines": _units(held)}


def _release(session: Session, command: CommandEnvelope) -> dict[str, Any]:
    return {"lines": _units(release_stock(session, order_id=_parse(command).order_id))}


def _units(reservations: list[StockReservation]) -> list[dict[str, Any]]:
    return [{"sku": r.sku, "quantity": r.quantity} for r in reservations]


def _parse(command: CommandEnvelope) -> OrderLines:
    try:
        return command.parse(OrderLines)
    except InvalidSagaData as error:
        raise CommandRejected(f"invalid {command.name}: {error}") from error
