"""Confluent's content type, error bodies, and the handlers that produce them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Final

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from eventyard_schema_registry.domain.errors import RegistryError

__all__ = ["CONTENT_TYPE", "RegistryJSONResponse", "install_error_handlers", "raw"]

CONTENT_TYPE: Final = "application/vnd.schemaregistry.v1+json"

log = structlog.get_logger("eventyard_schema_registry.http")


class RegistryJSONResponse(JSONResponse):
    """JSON with Confluent's media type, which its clients ask for first."""

    media_type = CONTENT_TYPE


def raw(text: str) -> Response:
    """A body that is already JSON text (a stored schema), sent as it is."""
    return Response(content=text, media_type=CONTENT_TYPE)


def _error(status: int, error_code: int, message: str) -> RegistryJSONResponse:
    return RegistryJSONResponse({"error_code": error_code, "message": message}, status_code=status)


async def _registry_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, RegistryError)
    if error.status >= 500:
        log.error("request failed", error_code=error.error_code, message=error.message)
    return RegistryJSONResponse(error.body(), status_code=error.status)


async def _validation_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in e.get('loc', ()))}: {e.get('msg', '')}"
        for e in error.errors()
    )
    return _error(422, 422, problems or "Unprocessable entity")


async def _http_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    phrase = HTTPStatus(error.status_code).phrase
    return _error(error.status_code, error.status_code, f"HTTP {error.status_code} {phrase}")


async def _unexpected(_: Request, error: Exception) -> Response:
    log.exception("unexpected error", exc_info=error)
    return _error(500, 500, f"Internal Server Error: {type(error).__name__}")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with Confluent's ``{"error_code": N, "message": "..."}``."""
    app.add_exception_handler(RegistryError, _registry_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
