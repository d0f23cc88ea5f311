"""Kafka Connect's REST API, the part order-history needs: put a config when it differs, read a
connector's state, restart failed tasks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

__all__ = ["ConnectClient", "ConnectError", "connector_state"]


class ConnectError(Exception):
    """Kafka Connect refused a request or cannot be reached; the message says which."""


class ConnectClient:
    """A client of one Connect worker (or cluster behind one URL)."""

    def __init__(self, url: str, *, timeout_s: float = 15.0, transport: Any = None) -> None:
        self._http = httpx.Client(base_url=url, timeout=timeout_s, transport=transport)
        self.url = url

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def ensure(self, name: str, config: Mapping[str, str]) -> bool:
        """Create connector ``name`` or update its config; True when it was written.

        An identical config is left alone, so a restarted service does not restart the
        connector's tasks.
        """
        current = self._request("GET", f"/connectors/{name}/config", missing_ok=True)
        if current is not None:
            current.pop("name", None)
            if current == dict(config):
                return False
        self._request("PUT", f"/connectors/{name}/config", json=dict(config))
        return True

    def status(self, name: str) -> dict[str, Any] | None:
        """The connector's status document, or None when it does not exist."""
        return self._request("GET", f"/connectors/{name}/status", missing_ok=True)

    def restart(self, name: str) -> None:
        """Restart the connector and its failed tasks."""
        self._request(
            "POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=true", empty=True
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        missing_ok: bool = False,
        empty: bool = False,
    ) -> dict[str, Any] | None:
        try:
            response = self._http.request(method, path, json=json)
        except httpx.HTTPError as error:
            raise ConnectError(f"Kafka Connect {self.url} unreachable: {error}") from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise ConnectError(
                f"Kafka Connect {method} {path}: {response.status_code} {_message(response)}"
            )
        if empty or not response.content:
            return None
        document: dict[str, Any] = response.json()
        return document


def connector_state(status: Mapping[str, Any] | None) -> str:
    """``RUNNING`` when the connector and all its tasks run, ``FAILED`` when one failed, the
    connector's own state otherwise (``MISSING`` when there is no connector)."""
    if status is None:
        return "MISSING"
    states = {task.get("state") for task in status.get("tasks", [])}
    own = str(status.get("connector", {}).get("state", "UNASSIGNED"))
    if own == "FAILED" or "FAILED" in states:
        return "FAILED"
    if own == "RUNNING" and states == {"RUNNING"}:
        return "RUNNING"
    return own if own != "RUNNING" else "STARTING"


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text
