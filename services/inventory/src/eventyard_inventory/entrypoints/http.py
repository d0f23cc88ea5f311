"""``POST /products``, ``PUT /products/{sku}/stock`` and ``GET /products/{sku}``: prices in
integer cents, stock in units."""

# No ``from __future__ import annotations``: FastAPI reads the route signatures, whose
# dependency alias is local to ``router``.

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from eventyard.service import Runtime, session_dependency
from eventyard_inventory.domain.errors import DuplicateSku, StockBelowReserved, UnknownSku
from eventyard_inventory.domain.model import Product
from eventyard_inventory.service_layer.handlers import add_product, get_product, set_stock

__all__ = ["NewProduct", "ProductView", "StockLevel", "router"]

_UNITS = Field(ge=0, le=2**31 - 1)


class NewProduct(BaseModel):
    """The body of ``POST /products``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    sku: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200, pattern=r"\S")
    price: int = Field(ge=0, le=2**62, description="cents")
    stock: Annotated[int, _UNITS]


class StockLevel(BaseModel):
    """The body of ``PUT /products/{sku}/stock``: units on hand."""

    model_config = ConfigDict(extra="forbid", strict=True)

    stock: Annotated[int, _UNITS]


class ProductView(BaseModel):
    """A product as the API shows it: units on hand, and units held by orders."""

    sku: str
    name: str
    price: int
    stock: int
    reserved: int

    @classmethod
    def of(cls, product: Product) -> "ProductView":
        return cls(
            sku=product.sku,
            name=product.name,
            price=product.price,
            stock=product.stock,
            reserved=product.reserved,
        )


def router(runtime: Runtime) -> APIRouter:
    """The routes, on sessions of ``runtime`` (503 until it has booted)."""
    routes = APIRouter(prefix="/products", tags=["products"])
    SessionDep = Annotated[Session, Depends(session_dependency(runtime))]

    @routes.post("", status_code=201, responses={409: {"description": "the SKU exists"}})
    def create(body: NewProduct, session: SessionDep) -> ProductView:
        """Add a product with its price and stock; nothing reserved."""
        try:
            with session.begin():
                product = add_product(
                    session, sku=body.sku, name=body.name, price=body.price, stock=body.stock
                )
        except DuplicateSku as error:
            raise HTTPException(409, detail=error.reason) from error
        return ProductView.of(product)

    @routes.put(
        "/{sku}/stock",
        responses={404: {"description": "unknown SKU"}, 409: {"description": "below reserved"}},
    )
    def put_stock(sku: str, body: StockLevel, session: SessionDep) -> ProductView:
        """Set the units on hand; never below the units orders hold."""
        try:
            with session.begin():
                product = set_stock(session, sku, body.stock)
        except UnknownSku as error:
            raise HTTPException(404, detail=error.reason) from error
        except StockBelowReserved as error:
            raise HTTPException(409, detail=error.reason) from error
        return ProductView.of(product)

    @routes.get("/{sku}", responses={404: {"description": "unknown SKU"}})
    def read(sku: str, session: SessionDep) -> ProductView:
        """The product's price, units on hand and units held by orders."""
        try:
            return ProductView.of(get_product(session, sku))
        except UnknownSku as error:
            raise HTTPException(404, detail=error.reason) from error

    return routes
