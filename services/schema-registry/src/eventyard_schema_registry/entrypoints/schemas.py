"""``/schemas``: schemas by global id, and the supported types."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from eventyard_schema_registry.domain.model import AVRO
from eventyard_schema_registry.entrypoints.dependencies import RegistryDep
from eventyard_schema_registry.entrypoints.responses import raw
from eventyard_schema_registry.entrypoints.views import page, schema_view

__all__ = ["router"]

router = APIRouter(prefix="/schemas", tags=["schemas"])


@router.get("/types")
def schema_types() -> list[str]:
    """The schema types this registry accepts."""
    return [AVRO]


@router.get("/ids/{schema_id}")
def get_schema(schema_id: int, registry: RegistryDep) -> dict[str, Any]:
    """The schema with this id (and its references)."""
    return schema_view(registry.schema(schema_id))


@router.get("/ids/{schema_id}/schema")
def get_schema_text(schema_id: int, registry: RegistryDep) -> Response:
    """Only the schema with this id, as raw JSON."""
    return raw(registry.schema(schema_id).schema)


@router.get("/ids/{schema_id}/subjects")
def schema_subjects(
    schema_id: int,
    registry: RegistryDep,
    *,
    deleted: bool = False,
    offset: int = 0,
    limit: int = -1,
) -> list[str]:
    """The subjects that hold this id."""
    subjects = sorted({u.subject for u in registry.usages(schema_id, deleted=deleted)})
    return page(subjects, offset, limit)


@router.get("/ids/{schema_id}/versions")
def schema_versions(
    schema_id: int,
    registry: RegistryDep,
    *,
    deleted: bool = False,
    offset: int = 0,
    limit: int = -1,
) -> list[dict[str, Any]]:
    """The ``{"subject", "version"}`` pairs that hold this id."""
    usages = registry.usages(schema_id, deleted=deleted)
    return page([{"subject": u.subject, "version": u.version} for u in usages], offset, limit)
