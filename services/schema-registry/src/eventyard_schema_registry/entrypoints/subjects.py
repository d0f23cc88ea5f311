"""``/subjects``: register, look up, read and delete subject versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from eventyard_schema_registry.entrypoints.bodies import register_request
from eventyard_schema_registry.entrypoints.dependencies import (
    DeletionsDep,
    JsonObject,
    RegistryDep,
)
from eventyard_schema_registry.entrypoints.responses import raw
from eventyard_schema_registry.entrypoints.views import page, version_view

__all__ = ["router"]

router = APIRouter(prefix="/subjects", tags=["subjects"])

_WILDCARD = ":*:"  # Confluent's "every context" prefix, which means no filter here

Deleted = Annotated[bool, Query(description="include soft-deleted versions")]
DeletedOnly = Annotated[bool, Query(alias="deletedOnly")]
DeletedOnlySnake = Annotated[bool, Query(alias="deleted_only")]  # as confluent-kafka sends it
Permanent = Annotated[bool, Query(description="hard-delete what was soft-deleted")]


@router.get("")
def list_subjects(
    registry: RegistryDep,
    *,
    deleted: Deleted = False,
    deleted_only: DeletedOnly = False,
    deleted_only_snake: DeletedOnlySnake = False,
    subject_prefix: Annotated[str, Query(alias="subjectPrefix")] = "",
    offset: int = 0,
    limit: int = -1,
) -> list[str]:
    """Subjects with a live version (``deleted``: any version; ``deletedOnly``: none live)."""
    prefix = "" if subject_prefix == _WILDCARD else subject_prefix
    found = registry.subjects(
        deleted=deleted, deleted_only=deleted_only or deleted_only_snake, prefix=prefix
    )
    return page(found, offset, limit)


@router.post("/{subject}")
def lookup(
    subject: str, body: JsonObject, registry: RegistryDep, deleted: Deleted = False
) -> dict[str, Any]:
    """The version of ``subject`` holding this schema (40401 subject, 40403 schema unknown)."""
    return version_view(registry.lookup(subject, register_request(body), deleted=deleted))


@router.delete("/{subject}")
def delete_subject(
    subject: str, deletions: DeletionsDep, permanent: Permanent = False
) -> list[int]:
    """Soft-delete the subject, or (``permanent``) remove it once soft-deleted."""
    return deletions.delete_subject(subject, permanent=permanent)


@router.get("/{subject}/versions")
def list_versions(
    subject: str,
    registry: RegistryDep,
    *,
    deleted: Deleted = False,
    deleted_only: DeletedOnly = False,
    deleted_only_snake: DeletedOnlySnake = False,
    offset: int = 0,
    limit: int = -1,
) -> list[int]:
    """The subject's version numbers."""
    found = registry.versions(
        subject, deleted=deleted, deleted_only=deleted_only or deleted_only_snake
    )
    return page(found, offset, limit)


@router.post("/{subject}/versions")
def register(subject: str, body: JsonObject, registry: RegistryDep) -> dict[str, int]:
    """Register a schema (or find it) under ``subject``; its global id."""
    return {"id": registry.register(subject, register_request(body)).schema.id}


@router.get("/{subject}/versions/{version}")
def get_version(
    subject: str, version: str, registry: RegistryDep, deleted: Deleted = False
) -> dict[str, Any]:
    """One version, ``latest`` or by number."""
    return version_view(registry.version(subject, version, deleted=deleted))


@router.get("/{subject}/versions/{version}/schema")
def get_version_schema(
    subject: str, version: str, registry: RegistryDep, deleted: Deleted = False
) -> Response:
    """Only the schema of one version, as raw JSON."""
    return raw(registry.version(subject, version, deleted=deleted).schema.schema)


@router.get("/{subject}/versions/{version}/referencedby")
def referenced_by(
    subject: str,
    version: str,
    registry: RegistryDep,
    *,
    deleted: Deleted = False,
    offset: int = 0,
    limit: int = -1,
) -> list[int]:
    """Ids of the schemas that reference this version."""
    return page(registry.referenced_by(subject, version, deleted=deleted), offset, limit)


@router.delete("/{subject}/versions/{version}")
def delete_version(
    subject: str, version: str, deletions: DeletionsDep, permanent: Permanent = False
) -> int:
    """Soft-delete one version, or (``permanent``) remove it once soft-deleted."""
    return deletions.delete_version(subject, version, permanent=permanent)
