"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from eventyard_schema_registry.bootstrap import bootstrap
from eventyard_schema_registry.domain.errors import StoreError
from eventyard_schema_registry.entrypoints import compatibility, policies, schemas, subjects
from eventyard_schema_registry.entrypoints.dependencies import RegistryDep
from eventyard_schema_registry.entrypoints.responses import (
    RegistryJSONResponse,
    install_error_handlers,
)
from eventyard_schema_registry.service_layer.registry import Registry
from eventyard_schema_registry.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, *, registry: Registry | None = None) -> FastAPI:
    """The registry's ASGI application.

    With ``registry``, serve it (the caller closes it). Otherwise connect at start-up with
    ``settings`` (default: from the environment) and close at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = registry is None
        app.state.registry = registry or await run_in_threadpool(bootstrap, settings or Settings())
        try:
            yield
        finally:
            if owned:
                app.state.registry.close()

    app = FastAPI(
        title="Eventyard schema registry",
        summary="Confluent Schema Registry's REST API on PostgreSQL",
        version="0.1.0",
        default_response_class=RegistryJSONResponse,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (subjects, schemas, policies, compatibility):
        app.include_router(module.router)

    @app.get("/", tags=["health"])
    def root() -> dict[str, Any]:
        """``{}``, as Confluent answers: the server is up."""
        return {}

    @app.get("/health", tags=["health"], response_model=None)
    def health(registry: RegistryDep) -> dict[str, str] | Response:
        """Readiness: 200 when the database answers, 503 otherwise."""
        try:
            registry.ping()
        except StoreError as error:
            return RegistryJSONResponse(error.body(), status_code=503)
        return {"status": "UP"}

    return app
