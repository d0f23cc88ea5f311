"""What routes receive: the registry's use cases, and the request body as a JSON object.

The registry ``bootstrap`` wired is ``app.state.registry``; routes for levels and modes get its
:class:`Policies`, routes that delete get its :class:`Deletions`, the others the registry.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from eventyard_schema_registry.domain.errors import BadRequest
from eventyard_schema_registry.service_layer.deletions import Deletions
from eventyard_schema_registry.service_layer.policies import Policies
from eventyard_schema_registry.service_layer.registry import Registry

__all__ = ["DeletionsDep", "JsonObject", "PoliciesDep", "RegistryDep"]


def _registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


def _policies(request: Request) -> Policies:
    return _registry(request).policies


def _deletions(request: Request) -> Deletions:
    return _registry(request).deletions


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
PoliciesDep = Annotated[Policies, Depends(_policies)]
DeletionsDep = Annotated[Deletions, Depends(_deletions)]
JsonObject = Annotated[dict[str, Any], Depends(_json_object)]
