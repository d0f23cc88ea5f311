"""``/compatibility``: would this schema be accepted?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from eventyard_schema_registry.entrypoints.bodies import register_request
from eventyard_schema_registry.entrypoints.dependencies import JsonObject, RegistryDep

__all__ = ["router"]

router = APIRouter(prefix="/compatibility", tags=["compatibility"])


def _answer(messages: list[str], verbose: bool) -> dict[str, Any]:
    answer: dict[str, Any] = {"is_compatible": not messages}
    if verbose:
        answer["messages"] = messages
    return answer


@router.post("/subjects/{subject}/versions/{version}")
def check_version(
    subject: str, version: str, body: JsonObject, registry: RegistryDep, verbose: bool = False
) -> dict[str, Any]:
    """Against one version (``latest`` or a number), at the subject's level."""
    request = register_request(body)
    return _answer(registry.check(subject, request, version=version, verbose=verbose), verbose)


@router.post("/subjects/{subject}/versions")
def check_subject(
    subject: str, body: JsonObject, registry: RegistryDep, verbose: bool = False
) -> dict[str, Any]:
    """Against the subject's live versions, as registration would check."""
    request = register_request(body)
    return _answer(registry.check(subject, request, verbose=verbose), verbose)
