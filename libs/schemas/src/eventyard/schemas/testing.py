"""Fakes for product teams' tests: an in-memory Confluent-compatible registry.

::

    registry = FakeRegistry(levels={"orders-value": "FULL"})
    client = RegistryClient("http://registry", transport=registry.transport)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from eventyard.schemas._compatibility import check_compatibility
from eventyard.schemas._exceptions import SchemaParseError
from eventyard.schemas._levels import CompatibilityLevel
from eventyard.schemas._parsing import parse_schema
from eventyard.schemas._registry import CONTENT_TYPE

__all__ = ["FakeRegistry"]

_VERSIONS = re.compile(r"/subjects/(?P<subject>[^/]+)/versions(?:/(?P<version>[^/]+))?\Z")
_SUBJECT = re.compile(r"/subjects/(?P<subject>[^/]+)\Z")


class FakeRegistry:
    """Subjects, versions and ids in memory, checked with :func:`check_compatibility`.

    Answers the calls :class:`~eventyard.schemas._registry.RegistryClient` makes, with
    Confluent's status and error codes (404/40401, 404/40402, 404/40403, 409, 422/42201).
    ``requests`` records every request received.
    """

    def __init__(
        self,
        *,
        default_level: CompatibilityLevel | str = CompatibilityLevel.BACKWARD,
        levels: Mapping[str, CompatibilityLevel | str] | None = None,
    ) -> None:
        self.default_level = CompatibilityLevel.parse(default_level)
        self.levels = {k: CompatibilityLevel.parse(v) for k, v in (levels or {}).items()}
        self.subjects: dict[str, list[tuple[int, str]]] = {}  # subject -> [(id, schema text)]
        self.requests: list[httpx.Request] = []
        self._ids: dict[str, int] = {}

    @property
    def transport(self) -> httpx.MockTransport:
        """An httpx transport that serves this registry."""
        return httpx.MockTransport(self._handle)

    def add(self, subject: str, schema: str | Mapping[str, Any]) -> int:
        """Register directly, without a compatibility check; returns the schema id."""
        text = schema if isinstance(schema, str) else json.dumps(schema)
        schema_id = self._ids.setdefault(parse_schema(text).text, len(self._ids) + 1)
        self.subjects.setdefault(subject, []).append((schema_id, text))
        return schema_id

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        match = _VERSIONS.match(path)
        if match:
            subject = match["subject"]  # httpx has already percent-decoded the path
            if request.method == "GET" and match["version"] is None:
                return self._list_versions(subject)
            if request.method == "GET":
                return self._get_version(subject, match["version"])
            if request.method == "POST" and match["version"] is None:
                return self._register(subject, request)
        match = _SUBJECT.match(path)
        if match and request.method == "POST":
            return self._lookup(match["subject"], request)
        return _answer(404, {"error_code": 404, "message": f"HTTP 404 Not Found: {path}"})

    def _list_versions(self, subject: str) -> httpx.Response:
        if subject not in self.subjects:
            return _answer(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
        return _answer(200, list(range(1, len(self.subjects[subject]) + 1)))

    def _get_version(self, subject: str, version: str) -> httpx.Response:
        versions = self.subjects.get(subject)
        if versions is None:
            return _answer(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
        number = len(versions) if version == "latest" else int(version) if version.isdigit() else 0
        if not 1 <= number <= len(versions):
            return _answer(404, {"error_code": 40402, "message": f"Version {version} not found."})
        schema_id, text = versions[number - 1]
        body = {"subject": subject, "version": number, "id": schema_id, "schema": text}
        return _answer(200, body)

    def _lookup(self, subject: str, request: httpx.Request) -> httpx.Response:
        if subject not in self.subjects:
            return _answer(404, {"error_code": 40401, "message": f"Subject '{subject}' not found."})
        try:
            text = parse_schema(json.loads(request.content)["schema"]).text
        except (SchemaParseError, KeyError, ValueError) as error:
            return _answer(422, {"error_code": 42201, "message": f"Invalid schema: {error}"})
        for number, (schema_id, stored) in enumerate(self.subjects[subject], start=1):
            if parse_schema(stored).text == text:
                body = {"subject": subject, "version": number, "id": schema_id, "schema": stored}
                return _answer(200, body)
        return _answer(404, {"error_code": 40403, "message": "Schema not found"})

    def _register(self, subject: str, request: httpx.Request) -> httpx.Response:
        try:
            text = json.loads(request.content)["schema"]
            new = parse_schema(text)
        except (SchemaParseError, KeyError, ValueError) as error:
            return _answer(422, {"error_code": 42201, "message": f"Invalid schema: {error}"})
        existing = self.subjects.get(subject, [])
        for schema_id, stored in existing:
            if parse_schema(stored).text == new.text:
                return _answer(200, {"id": schema_id})
        level = self.levels.get(subject, self.default_level)
        result = check_compatibility(new, [stored for _, stored in existing], level)
        if not result.compatible:
            messages = [str(message) for message in result.messages]
            body = {
                "error_code": 409,
                "message": f"Schema being registered is incompatible with an earlier schema "
                f'for subject "{subject}", details: {messages}',
            }
            return _answer(409, body)
        return _answer(200, {"id": self.add(subject, text)})


def _answer(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"Content-Type": CONTENT_TYPE})
