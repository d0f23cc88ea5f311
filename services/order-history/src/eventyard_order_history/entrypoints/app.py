"""The FastAPI application: the read model, the SKU statistics, health and readiness."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel

from eventyard.service import NotReady, install
from eventyard.telemetry import Telemetry, instrument_fastapi
from eventyard_order_history.adapters.sku_stats import StatsUnavailable
from eventyard_order_history.bootstrap import Service, bootstrap
from eventyard_order_history.settings import Settings

__all__ = ["create_app"]


class CustomerOrderOut(BaseModel):
    """One order in ``GET /customers/{id}/orders``."""

    order_id: UUID
    customer_name: str | None
    status: str
    total: int | None


class SkuMinuteOut(BaseModel):
    """Units of one SKU in orders approved during one minute (its start, UTC)."""

    sku: str
    minute: datetime
    units: int


def create_app(
    settings: Settings | None = None,
    telemetry: Telemetry | None = None,
    *,
    service: Service | None = None,
) -> FastAPI:
    """The service's ASGI application; its lifespan boots the runtime and starts the workers.

    Readiness (``/readyz``) also waits for both connectors, the projection and the statistics.
    """
    service = service or bootstrap(settings, telemetry=telemetry)
    for chatty in ("httpx", "faust", "mode", "aiokafka"):  # connector checks, faust's life
        logging.getLogger(chatty).setLevel(logging.WARNING)
    runtime = service.runtime
    app = FastAPI(
        title="Eventyard order-history",
        summary="A read model of the shop's orders and customers, fed by Debezium",
        version="0.1.0",
        lifespan=runtime.lifespan,
    )
    app.state.service = service
    install(app, runtime, unavailable=(StatsUnavailable,))
    app.include_router(_read_model(service))
    instrument_fastapi(app)
    return app


def _read_model(service: Service) -> APIRouter:
    router = APIRouter()

    @router.get("/customers/{customer_id}/orders", response_model=list[CustomerOrderOut])
    def customer_orders(customer_id: UUID) -> list[CustomerOrderOut]:
        """The customer's orders with the customer's name, status and total, oldest first."""
        try:
            with service.runtime.engine.connect() as conn:
                orders = service.read_model.customer_orders(conn, customer_id)
        except sa.exc.ProgrammingError as error:  # the projection has not created its tables
            raise NotReady(f"the read model is being created: {error.orig}") from None
        return [
            CustomerOrderOut(
                order_id=o.order_id, customer_name=o.customer_name, status=o.status, total=o.total
            )
            for o in orders
        ]

    @router.get("/stats/skus", response_model=list[SkuMinuteOut])
    def sku_stats() -> list[SkuMinuteOut]:
        """Units ordered per SKU per minute of approval, oldest minute first."""
        return [
            SkuMinuteOut(sku=s.sku, minute=s.minute, units=s.units)
            for s in service.stats.snapshot()
        ]

    return router
