"""The FastAPI application: the routes, health and readiness, tracing."""

from __future__ import annotations

from fastapi import FastAPI

from eventyard.service import install
from eventyard.telemetry import Telemetry, instrument_fastapi
from eventyard_customers.bootstrap import bootstrap
from eventyard_customers.entrypoints import http
from eventyard_customers.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, telemetry: Telemetry | None = None) -> FastAPI:
    """The service's ASGI application; it boots (database, migrations, Kafka, workers) at
    start-up, in the background, and stops its workers at shutdown."""
    runtime = bootstrap(settings or Settings(), telemetry=telemetry)
    app = FastAPI(title="Eventyard customers", version="0.1.0", lifespan=runtime.lifespan)
    app.state.runtime = runtime
    install(app, runtime)
    app.include_router(http.router(runtime))
    instrument_fastapi(app)
    return app
