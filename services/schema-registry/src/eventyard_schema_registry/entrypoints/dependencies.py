"""What routes receive: the registry, and the request body as a JSON object."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from eventyard_schema_registry.domain.errors import BadRequest
from eventyard_schema_registry.service_layer.registry import Registry

__all__ = ["JsonObject", "RegistryDep"]


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


async def _json_object(request: Request) -> dict[str, Any]:
    """The body parsed as JSON whatever its content type, as Confluent accepts it."""
    body = await request.body()
    try:
        value = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest(f"The request body is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise BadRequest("The request body must be a JSON object")
    return value


RegistryDep = Annotated[Registry, Depends(_registry)]
JsonObject = Annotated[dict[str, Any], Depends(_json_object)]
