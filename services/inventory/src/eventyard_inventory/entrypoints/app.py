"""The FastAPI application: the routes, health and readiness, tracing."""

from __future__ import annotations

from fastapi import FastAPI

from eventyard.service import service_app
from eventyard.telemetry import Telemetry
from eventyard_inventory.bootstrap import bootstrap
from eventyard_inventory.entrypoints import http
from eventyard_inventory.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, telemetry: Telemetry | None = None) -> FastAPI:
    """The service's ASGI application; it boots (database, migrations, Kafka, workers) at
    start-up, in the background, and stops its workers at shutdown."""
    runtime = bootstrap(settings or Settings(), telemetry=telemetry)
    return service_app(runtime, title="Eventyard inventory", router=http.router(runtime))
