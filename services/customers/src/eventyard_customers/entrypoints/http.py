"""``POST /customers`` and ``GET /customers/{id}``: amounts in integer cents."""

# No ``from __future__ import annotations``: FastAPI reads the route signatures, whose
# dependency alias is local to ``router``.

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from eventyard.service import Runtime, session_dependency
from eventyard_customers.domain.errors import UnknownCustomer
from eventyard_customers.domain.model import Customer
from eventyard_customers.service_layer.handlers import get_customer, open_customer

__all__ = ["CustomerView", "NewCustomer", "router"]


class NewCustomer(BaseModel):
    """The body of ``POST /customers``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    credit_limit: int = Field(ge=0, le=2**62, description="cents")


class CustomerView(BaseModel):
    """A customer as the API shows it."""

    id: uuid.UUID
    name: str
    credit_limit: int
    credit_reserved: int
    credit_available: int

    @classmethod
    def of(cls, customer: Customer) -> "CustomerView":
        return cls(
            id=customer.id,
            name=customer.name,
            credit_limit=customer.credit_limit,
            credit_reserved=customer.credit_reserved,
            credit_available=customer.credit_available,
        )


def router(runtime: Runtime) -> APIRouter:
    """The routes, on sessions of ``runtime`` (503 until it has booted)."""
    routes = APIRouter(prefix="/customers", tags=["customers"])
    SessionDep = Annotated[Session, Depends(session_dependency(runtime))]

    @routes.post("", status_code=201)
    def create(body: NewCustomer, session: SessionDep) -> CustomerView:
        """Open a customer with a credit limit and nothing reserved."""
        with session.begin():
            return CustomerView.of(
                open_customer(session, name=body.name, credit_limit=body.credit_limit)
            )

    @routes.get("/{customer_id}", responses={404: {"description": "unknown customer"}})
    def read(customer_id: uuid.UUID, session: SessionDep) -> CustomerView:
        """The customer's limit, credit reserved (orders pending or approved), credit available."""
        try:
            return CustomerView.of(get_customer(session, customer_id))
        except UnknownCustomer as error:
            raise HTTPException(404, detail=error.reason) from error

    return routes
