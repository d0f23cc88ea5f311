"""The saga participant: ``ReserveCredit`` and ``ReleaseCredit`` from the order saga.

Both carry ``{"order_id", "customer_id", "amount"}``. ``ReserveCredit`` replies
``{"reservation_id"}`` (the order's id: an order holds one reservation) or is rejected with
``unknown customer <id>`` / ``insufficient credit: available <a>, order total <t>``.
``ReleaseCredit`` gives back what the order holds, nothing when it holds nothing, and replies
``{"released"}`` (cents).
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, NonNegativeInt
from sqlalchemy.orm import Session

from eventyard.outbox import Outbox
from eventyard.saga import CommandEnvelope, CommandRejected, InvalidSagaData, Participant
from eventyard_customers.domain.errors import CustomersError
from eventyard_customers.service_layer.handlers import release_credit, reserve_credit

__all__ = ["CreditCommand", "participant"]


class CreditCommand(BaseModel):
    """The payload of both commands."""

    model_config = ConfigDict(frozen=True)

    order_id: uuid.UUID
    customer_id: uuid.UUID
    amount: NonNegativeInt


def participant(outbox: Outbox) -> Participant:
    """The ``customers`` participant; ``outbox`` publishes its replies."""
    commands = Participant("customers", outbox=outbox)
    commands.register("ReserveCredit", _reserve)
    commands.register("ReleaseCredit", _release)
    return commands


def _reserve(session: Session, command: CommandEnvelope) -> dict[str, str]:
    body = _parse(command)
    try:
        reservation = reserve_credit(
            session, order_id=body.order_id, customer_id=body.customer_id, amount=body.amount
        )
    except CustomersError as error:
        raise CommandRejected(error.reason) from error
    return {"reservation_id": str(reservation.order_id)}


def _release(session: Session, command: CommandEnvelope) -> dict[str, int]:
    released = release_credit(session, order_id=_parse(command).order_id)
    return {"released": 0 if released is None else released.amount}


def _parse(command: CommandEnvelope) -> CreditCommand:
    try:
        return command.parse(CreditCommand)
    except InvalidSagaData as error:
        raise CommandRejected(f"invalid {command.name}: {error}") from error
