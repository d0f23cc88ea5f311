"""A small client for Confluent's Schema Registry REST API (the only HTTP I/O)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import httpx

from eventyard.schemas._exceptions import RegistryError, RegistryRejected, RegistryUnavailable

__all__ = ["CONTENT_TYPE", "RegisteredSchema", "RegistryClient"]

CONTENT_TYPE: Final = "application/vnd.schemaregistry.v1+json"
SUBJECT_NOT_FOUND: Final = 40401
VERSION_NOT_FOUND: Final = 40402
SCHEMA_NOT_FOUND: Final = 40403


@dataclass(frozen=True, kw_only=True, slots=True)
class RegisteredSchema:
    """One version of a subject as the registry holds it."""

    subject: str
    version: int
    id: int
    schema: str
    schema_type: str = "AVRO"


class RegistryClient:
    """Talks to a Confluent-compatible registry at ``url``.

    ``transport`` lets tests pass an ``httpx.MockTransport`` (see
    :class:`eventyard.schemas.testing.FakeRegistry`). Basic auth may be given in the URL.
    """

    def __init__(
        self,
        url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._client = httpx.Client(
            base_url=url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            headers={"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE},
        )

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def versions(self, subject: str) -> list[int]:
        """The subject's version numbers, ascending; empty for an unknown subject."""
        try:
            body = self._call("GET", f"/subjects/{_path(subject)}/versions")
        except RegistryRejected as error:
            if error.error_code == SUBJECT_NOT_FOUND or error.status == 404:
                return []
            raise
        if not isinstance(body, list):
            raise RegistryRejected(f"unexpected versions answer for {subject!r}: {body!r}")
        return sorted(int(version) for version in body)

    def version(self, subject: str, version: int) -> RegisteredSchema:
        """One version of the subject."""
        body = self._call("GET", f"/subjects/{_path(subject)}/versions/{version}")
        return _registered(subject, body)

    def history(self, subject: str) -> list[RegisteredSchema]:
        """Every version of the subject, oldest first."""
        return [self.version(subject, number) for number in self.versions(subject)]

    def lookup(self, subject: str, schema: str) -> RegisteredSchema | None:
        """The version under which ``schema`` is registered in ``subject``, if it is."""
        try:
            body = self._call("POST", f"/subjects/{_path(subject)}", {"schema": schema})
        except RegistryRejected as error:
            if error.error_code in (SUBJECT_NOT_FOUND, SCHEMA_NOT_FOUND) or error.status == 404:
                return None
            raise
        return _registered(subject, body)

    def register(self, subject: str, schema: str) -> int:
        """Register ``schema`` as the subject's next version (or find it); returns its id."""
        body = self._call("POST", f"/subjects/{_path(subject)}/versions", {"schema": schema})
        if not isinstance(body, dict) or "id" not in body:
            raise RegistryRejected(f"unexpected register answer for {subject!r}: {body!r}")
        return int(body["id"])

    def _call(self, method: str, path: str, payload: Any = None) -> Any:
        content = None if payload is None else json.dumps(payload)
        try:
            response = self._client.request(method, path, content=content)
        except httpx.HTTPError as error:
            raise RegistryUnavailable(f"{method} {path}: {error}") from None
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise RegistryRejected(f"{method} {path}: answer is not JSON") from None
        raise _error(method, path, response)


def _path(subject: str) -> str:
    return quote(subject, safe="")


def _registered(subject: str, body: Any) -> RegisteredSchema:
    if not isinstance(body, dict) or "schema" not in body:
        raise RegistryRejected(f"unexpected schema answer for {subject!r}: {body!r}")
    return RegisteredSchema(
        subject=str(body.get("subject", subject)),
        version=int(body.get("version", 0)),
        id=int(body.get("id", 0)),
        schema=str(body["schema"]),
        schema_type=str(body.get("schemaType", "AVRO")),
    )


def _error(method: str, path: str, response: httpx.Response) -> RegistryError:
    status = response.status_code
    error_code: int | None = None
    message = response.text.strip()
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = body.get("error_code")
        error_code = code if isinstance(code, int) else None
        message = str(body.get("message", message))
    text = f"{method} {path}: HTTP {status}: {message}"
    if status == 429 or status >= 500:
        return RegistryUnavailable(text, status=status, error_code=error_code)
    return RegistryRejected(text, status=status, error_code=error_code)
