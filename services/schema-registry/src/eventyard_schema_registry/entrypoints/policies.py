"""``/config`` and ``/mode``: compatibility levels and modes, global and per subject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from eventyard_schema_registry.entrypoints.dependencies import JsonObject, RegistryDep

__all__ = ["router"]

router = APIRouter(tags=["config"])

DefaultToGlobal = Annotated[bool, Query(alias="defaultToGlobal")]


def _level_in(body: JsonObject) -> object:
    return body.get("compatibility", body.get("compatibilityLevel"))


@router.get("/config")
def get_global_config(registry: RegistryDep) -> dict[str, str]:
    """The global compatibility level."""
    return {"compatibilityLevel": registry.level()}


@router.put("/config")
def put_global_config(body: JsonObject, registry: RegistryDep) -> dict[str, str]:
    """Set the global level: ``{"compatibility": "FULL"}``."""
    return {"compatibility": registry.set_level(None, _level_in(body))}


@router.delete("/config")
def delete_global_config(registry: RegistryDep) -> dict[str, str]:
    """Reset the global level to the default; returns the old one."""
    return {"compatibilityLevel": registry.delete_level(None)}


@router.get("/config/{subject}")
def get_subject_config(
    subject: str, registry: RegistryDep, default_to_global: DefaultToGlobal = False
) -> dict[str, str]:
    """The subject's level (40408 when it has none, unless ``defaultToGlobal``)."""
    return {"compatibilityLevel": registry.level(subject, default_to_global=default_to_global)}


@router.put("/config/{subject}")
def put_subject_config(subject: str, body: JsonObject, registry: RegistryDep) -> dict[str, str]:
    """Set the subject's level."""
    return {"compatibility": registry.set_level(subject, _level_in(body))}


@router.delete("/config/{subject}")
def delete_subject_config(subject: str, registry: RegistryDep) -> dict[str, str]:
    """Remove the subject's level; returns it."""
    return {"compatibilityLevel": registry.delete_level(subject)}


@router.get("/mode")
def get_global_mode(registry: RegistryDep) -> dict[str, str]:
    """The global mode."""
    return {"mode": registry.mode()}


@router.put("/mode")
def put_global_mode(body: JsonObject, registry: RegistryDep, force: bool = False) -> dict[str, str]:
    """Set the global mode: ``{"mode": "READONLY"}``."""
    return {"mode": registry.set_mode(None, body.get("mode"), force=force)}


@router.delete("/mode")
def delete_global_mode(registry: RegistryDep) -> dict[str, str]:
    """Reset the global mode to READWRITE; returns the old one."""
    return {"mode": registry.delete_mode(None)}


@router.get("/mode/{subject}")
def get_subject_mode(
    subject: str, registry: RegistryDep, default_to_global: DefaultToGlobal = False
) -> dict[str, str]:
    """The subject's mode (40409 when it has none, unless ``defaultToGlobal``)."""
    return {"mode": registry.mode(subject, default_to_global=default_to_global)}


@router.put("/mode/{subject}")
def put_subject_mode(
    subject: str, body: JsonObject, registry: RegistryDep, force: bool = False
) -> dict[str, str]:
    """Set the subject's mode."""
    return {"mode": registry.set_mode(subject, body.get("mode"), force=force)}


@router.delete("/mode/{subject}")
def delete_subject_mode(subject: str, registry: RegistryDep) -> dict[str, str]:
    """Remove the subject's mode; returns it."""
    return {"mode": registry.delete_mode(subject)}
