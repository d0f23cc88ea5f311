"""The FastAPI application: ``POST /orders``, ``GET /orders/{id}``, ``GET /orders``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from eventyard.service import install
from eventyard.telemetry import instrument_fastapi
from eventyard_orders.bootstrap import Orders
from eventyard_orders.domain.errors import IdempotencyConflict, OrderNotFound
from eventyard_orders.domain.model import OrderLine
from eventyard_orders.entrypoints.schemas import OrderIn, OrderOut, OrderSummaryOut, PlacedOut
from eventyard_orders.service_layer.orders import PlaceOrder

__all__ = ["create_app"]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="the same key with the same body gives the same order; another body, 409",
    ),
]


def create_app(orders: Orders) -> FastAPI:
    """The orders API; its lifespan boots the service and runs the relay and orchestrator."""
    service = orders.service
    app = FastAPI(
        title="Eventyard orders",
        summary="Orders and the order saga's orchestrator",
        version="0.1.0",
        lifespan=orders.runtime.lifespan,
    )
    install(app, orders.runtime)
    instrument_fastapi(app)

    @app.exception_handler(OrderNotFound)
    async def not_found(request: Request, error: OrderNotFound) -> Response:
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(IdempotencyConflict)
    async def conflict(request: Request, error: IdempotencyConflict) -> Response:
        return JSONResponse(
            {"detail": str(error), "order_id": str(error.order_id)}, status_code=409
        )

    @app.post("/orders", status_code=202, tags=["orders"])
    def place_order(body: OrderIn, response: Response, key: IdempotencyKey = None) -> PlacedOut:
        """Place an order: it is ``PENDING`` until its saga approves or rejects it."""
        lines = tuple(OrderLine(sku=line.sku, quantity=line.quantity) for line in body.lines)
        placed = service.place(
            PlaceOrder(customer_id=body.customer_id, lines=lines, idempotency_key=key)
        )
        response.headers["Location"] = f"/orders/{placed.order_id}"
        if placed.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return PlacedOut(id=placed.order_id, status=placed.status)

    @app.get("/orders/{order_id}", tags=["orders"])
    def get_order(order_id: uuid.UUID) -> OrderOut:
        """The order, its outcome and the saga's steps so far."""
        return OrderOut.of_details(service.get(order_id))

    @app.get("/orders", tags=["orders"])
    def list_orders(
        customer_id: uuid.UUID, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[OrderSummaryOut]:
        """A customer's orders, newest first."""
        return [OrderSummaryOut.of(o) for o in service.of_customer(customer_id, limit=limit)]

    return app
