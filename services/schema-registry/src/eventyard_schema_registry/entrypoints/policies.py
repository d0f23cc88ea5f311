"""``/config`` and ``/mode``: compatibility levels and modes, global and per subject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from eventyard_schema_registry.entrypoints.dependencies import JsonObject, PoliciesDep

__all__ = ["router"]

router = APIRouter(tags=["config"])

DefaultToGlobal = Annotated[bool, Query(alias="defaultToGlobal")]


def _level_in(body: JsonObject) -> object:
    return body.get("compatibility", body.get("compatibilityLevel"))


@router.get("/config")
def get_global_config(policies: PoliciesDep) -> dict[str, str]:
    """The global compatibility level."""
    return {"compatibilityLevel": policies.level()}


@router.put("/config")
def put_global_config(body: JsonObject, policies: PoliciesDep) -> dict[str, str]:
    """Set the global level: ``{"compatibility": "FULL"}``."""
    return {"compatibility": policies.set_level(None, _level_in(body))}


@router.delete("/config")
def delete_global_config(policies: PoliciesDep) -> dict[str, str]:
    """Reset the global level to the default; returns the old one."""
    return {"compatibilityLevel": policies.delete_level(None)}


@router.get("/config/{subject}")
def get_subject_config(
    subject: str, policies: PoliciesDep, default_to_global: DefaultToGlobal = False
) -> dict[str, str]:
    """The subject's level (40408 when it has none, unless ``defaultToGlobal``)."""
    return {"compatibilityLevel": policies.level(subject, default_to_global=default_to_global)}


@router.put("/config/{subject}")
def put_subject_config(subject: str, body: JsonObject, policies: PoliciesDep) -> dict[str, str]:
    """Set the subject's level."""
    return {"compatibility": policies.set_level(subject, _level_in(body))}


@router.delete("/config/{subject}")
def delete_subject_config(subject: str, policies: PoliciesDep) -> dict[str, str]:
    """Remove the subject's level; returns it."""
    return {"compatibilityLevel": policies.delete_level(subject)}


@router.get("/mode")
def get_global_mode(policies: PoliciesDep) -> dict[str, str]:
    """The global mode."""
    return {"mode": policies.mode()}


@router.put("/mode")
def put_global_mode(body: JsonObject, policies: PoliciesDep, force: bool = False) -> dict[str, str]:
    """Set the global mode: ``{"mode": "READONLY"}``."""
    return {"mode": policies.set_mode(None, body.get("mode"), force=force)}


@router.delete("/mode")
def delete_global_mode(policies: PoliciesDep) -> dict[str, str]:
    """Reset the global mode to READWRITE; returns the old one."""
    return {"mode": policies.delete_mode(None)}


@router.get("/mode/{subject}")
def get_subject_mode(
    subject: str, policies: PoliciesDep, default_to_global: DefaultToGlobal = False
) -> dict[str, str]:
    """The subject's mode (40409 when it has none, unless ``defaultToGlobal``)."""
    return {"mode": policies.mode(subject, default_to_global=default_to_global)}


@router.put("/mode/{subject}")
def put_subject_mode(
    subject: str, body: JsonObject, policies: PoliciesDep, force: bool = False
) -> dict[str, str]:
    """Set the subject's mode."""
    return {"mode": policies.set_mode(subject, body.get("mode"), force=force)}


@router.delete("/mode/{subject}")
def delete_subject_mode(subject: str, policies: PoliciesDep) -> dict[str, str]:
    """Remove the subject's mode; returns it."""
    return {"mode": policies.delete_mode(subject)}
