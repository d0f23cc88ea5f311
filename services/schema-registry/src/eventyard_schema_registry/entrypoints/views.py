"""The JSON shapes Confluent answers with."""

from __future__ import annotations

from typing import Any, TypeVar

from eventyard_schema_registry.domain.model import (
    AVRO,
    SchemaReference,
    StoredSchema,
    SubjectVersion,
)

__all__ = ["page", "schema_view", "version_view"]

T = TypeVar("T")


def _references(references: tuple[SchemaReference, ...]) -> list[dict[str, Any]]:
    return [{"name": r.name, "subject": r.subject, "version": r.version} for r in references]


def _extras(schema: StoredSchema) -> dict[str, Any]:
    """``schemaType`` unless AVRO, ``references`` unless empty: Confluent omits them then."""
    extras: dict[str, Any] = {}
    if schema.schema_type != AVRO:
        extras["schemaType"] = schema.schema_type
    if schema.references:
        extras["references"] = _references(schema.references)
    return extras


def version_view(version: SubjectVersion) -> dict[str, Any]:
    """``{"subject", "version", "id", ["schemaType"], ["references"], "schema"}``."""
    return {
        "subject": version.subject,
        "version": version.version,
        "id": version.schema.id,
        **_extras(version.schema),
        "schema": version.schema.schema,
    }


def schema_view(schema: StoredSchema) -> dict[str, Any]:
    """``{["schemaType"], ["references"], "schema"}`` for ``/schemas/ids/{id}``."""
    return {**_extras(schema), "schema": schema.schema}


def page(items: list[T], offset: int, limit: int) -> list[T]:
    """Confluent's paging: skip ``offset``, then at most ``limit`` (all when not positive)."""
    rest = items[max(offset, 0) :]
    return rest[:limit] if limit > 0 else rest
