"""A typed client of Kafka Connect's REST API: create or update a connector (``PUT
/connectors/<name>/config``), read its config and status, restart it, delete it, list connectors
and plugins, and wait until a connector and all its tasks run.

Every failure is a :class:`ConnectError` whose message names the Connect URL and the connector;
a connector that failed brings its error text (each failed task's exception and its causes).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, ClassVar, Self
from urllib.parse import quote

import httpx

__all__ = ["ConnectClient", "ConnectError", "connector_state"]


class ConnectError(Exception):
    """Kafka Connect cannot be reached, refused a request, or a connector failed or did not run
    in time. The message names the Connect URL and the connector (when there is one).

    ``status_code`` is Connect's HTTP status when it answered with an error (None when it could
    not be reached or the connector failed); ``trace`` the failed connector's and tasks' Java
    stack traces when one failed.
    """

    def __init__(
        self,
        detail: str,
        *,
        url: str,
        connector: str | None = None,
        status_code: int | None = None,
        trace: str | None = None,
    ) -> None:
        self.detail = detail
        self.url = url
        self.connector = connector
        self.status_code = status_code
        self.trace = trace
        where = f"Kafka Connect {url}" + (f", connector {connector}" if connector else "")
        super().__init__(f"{where}: {detail}")

    @property
    def transient(self) -> bool:
        """True when asking again may succeed: Connect was unreachable, answered 5xx, or 409
        (a rebalance in progress)."""
        if self.trace is not None:
            return False
        return self.status_code is None or self.status_code >= 500 or self.status_code == 409


def connector_state(status: Mapping[str, Any] | None) -> str:
    """``RUNNING`` when the connector and all its tasks run, ``FAILED`` when it or a task failed,
    ``MISSING`` when there is no connector, ``STARTING`` when it runs but not all its tasks do
    yet, the connector's own state otherwise (``PAUSED``, ``STOPPED``, ``UNASSIGNED``)."""
    if status is None:
        return "MISSING"
    states = {task.get("state") for task in status.get("tasks", [])}
    own = str(status.get("connector", {}).get("state", "UNASSIGNED"))
    if own == "FAILED" or "FAILED" in states:
        return "FAILED"
    if own == "RUNNING" and states == {"RUNNING"}:
        return "RUNNING"
    return own if own != "RUNNING" else "STARTING"


def _failed_parts(status: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(who, Java stack trace) of the connector and each task, when FAILED."""
    parts: list[tuple[str, str]] = []
    connector = status.get("connector", {})
    if connector.get("state") == "FAILED":
        parts.append(("connector", str(connector.get("trace") or "")))
    for task in status.get("tasks", []):
        if task.get("state") == "FAILED":
            parts.append((f"task {task.get('id', '?')}", str(task.get("trace") or "")))
    return parts


def _summary(trace: str) -> str:
    """A Java stack trace in one line: the exception and its ``Caused by:`` lines."""
    lines = [line.strip() for line in trace.splitlines() if line.strip()]
    if not lines:
        return "no error text"
    return " / ".join([lines[0], *(line for line in lines[1:] if line.startswith("Caused by:"))])


def _message(response: httpx.Response) -> str:
    """Connect's own error message (``{"error_code": ..., "message": ...}``), else the body."""
    try:
        document = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(document, dict) and "message" in document:
        return str(document["message"])
    return response.text[:500]


class ConnectClient:
    """A client of one Connect worker (or a cluster behind one URL).

    ``transport`` replaces the network (an ``httpx.MockTransport`` in tests). A subclass may set
    ``error_type`` to a subclass of :class:`ConnectError` to raise instead, so that a library's
    own error tree holds Connect's errors too.
    """

    error_type: ClassVar[type[ConnectError]] = ConnectError

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ reading

    def connectors(self) -> list[str]:
        """The names of the connectors Connect has, sorted."""
        return sorted(str(name) for name in self._json("GET", "/connectors") or [])

    def plugins(self) -> list[str]:
        """The classes of the connector plugins the worker has installed."""
        return [str(p.get("class")) for p in self._json("GET", "/connector-plugins") or []]

    def config(self, name: str) -> dict[str, str] | None:
        """The connector's config (without the ``name`` key Connect adds), or None when missing."""
        document = self._json("GET", _path(name, "config"), connector=name, missing_ok=True)
        if document is None:
            return None
        return {str(k): str(v) for k, v in document.items() if k != "name"}

    def status(self, name: str) -> dict[str, Any] | None:
        """The connector's status document, or None when it does not exist."""
        document = self._json("GET", _path(name, "status"), connector=name, missing_ok=True)
        return None if document is None else dict(document)

    def state(self, name: str) -> str:
        """The connector's state in one word (see :func:`connector_state`)."""
        return connector_state(self.status(name))

    # ------------------------------------------------------------------ writing

    def put(self, name: str, config: Mapping[str, str]) -> bool:
        """Create connector ``name`` or replace its config (which restarts it); True when it was
        created. Connect's validation errors are raised."""
        response = self._request("PUT", _path(name, "config"), connector=name, json=dict(config))
        return response is not None and response.status_code == 201

    def ensure(self, name: str, config: Mapping[str, str]) -> bool:
        """Create connector ``name`` or update its config, only when it differs; True when it was
        written. An identical config is left alone, so its tasks are not restarted."""
        wanted = {k: v for k, v in config.items() if k != "name"}
        if self.config(name) == wanted:
            return False
        self.put(name, wanted)
        return True

    def restart(self, name: str, *, only_failed: bool = True) -> None:
        """Restart the connector and its tasks (only the failed ones by default)."""
        params = {"includeTasks": "true", "onlyFailed": "true" if only_failed else "false"}
        self._request("POST", _path(name, "restart"), connector=name, params=params)

    def delete(self, name: str) -> bool:
        """Delete the connector; True when it existed. Its replication slot stays, and its
        status document may linger a moment after its config is gone."""
        return self._request("DELETE", _path(name), connector=name, missing_ok=True) is not None

    # ------------------------------------------------------------------ waiting

    def wait_running(
        self, name: str, timeout_s: float = 90.0, *, poll_s: float = 0.5
    ) -> dict[str, Any]:
        """Wait until the connector and all its tasks run; its status document.

        A FAILED connector or task raises at once, with each failure's exception and causes in
        the message (and the full traces in ``error.trace``). While Connect cannot be reached or
        answers 5xx/409 (a worker restarting or rebalancing), this keeps asking until
        ``timeout_s``; then it raises with the last state seen.
        """
        deadline = time.monotonic() + timeout_s
        last = "not registered"
        while True:
            try:
                status = self.status(name)
            except ConnectError as error:
                if not error.transient:
                    raise
                last = error.detail
            else:
                state = connector_state(status)
                if state == "RUNNING" and status is not None:
                    return status
                if state == "FAILED" and status is not None:
                    parts = _failed_parts(status)
                    raise self.error_type(
                        "failed: " + "; ".join(f"{who}: {_summary(t)}" for who, t in parts),
                        url=self.url,
                        connector=name,
                        trace="\n".join(f"{who}:\n{t}" for who, t in parts),
                    )
                last = "not registered" if state == "MISSING" else f"state {state}"
            if time.monotonic() >= deadline:
                raise self.error_type(
                    f"not running after {timeout_s:g} s ({last})", url=self.url, connector=name
                )
            time.sleep(poll_s)

    # ------------------------------------------------------------------ HTTP

    def _request(
        self,
        method: str,
        path: str,
        *,
        connector: str | None = None,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        """The response; None for a 404 when ``missing_ok``; any other failure raised."""
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError as error:
            raise self.error_type(
                f"{method} {path}: unreachable ({type(error).__name__}: {error})",
                url=self.url,
                connector=connector,
            ) from error
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise self.error_type(
                f"{method} {path}: {response.status_code} {_message(response)}",
                url=self.url,
                connector=connector,
                status_code=response.status_code,
            )
        return response

    def _json(
        self, method: str, path: str, *, connector: str | None = None, missing_ok: bool = False
    ) -> Any:
        response = self._request(method, path, connector=connector, missing_ok=missing_ok)
        if response is None:
            return None
        try:
            return response.json()
        except ValueError:
            raise self.error_type(
                f"{method} {path}: not Connect's JSON: {response.text[:200]!r}",
                url=self.url,
                connector=connector,
                status_code=response.status_code,
            ) from None


def _path(name: str, *rest: str) -> str:
    """``/connectors/<name>/...`` with the name quoted (Connect allows almost any name)."""
    return "/".join(("/connectors", quote(name, safe=""), *rest))
