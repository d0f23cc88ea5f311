"""Eventyard's Confluent-compatible schema registry service, on the stack's PostgreSQL."""

from __future__ import annotations

import importlib.util
import sys
from typing import ClassVar

import httpx
import psycopg
from psycopg import sql

from eventyard.stack._component import Component, LaunchSpec, PortSpec, Report
from eventyard.stack._errors import PrerequisiteMissing
from eventyard.stack._ports import port_answers

__all__ = ["Registry"]

_MODULE = "eventyard_schema_registry"
_DATABASE = "eventyard_registry"


class Registry(Component):
    """``services/schema-registry`` run with this interpreter, storing schemas in PostgreSQL."""

    name: ClassVar[str] = "registry"
    depends_on: ClassVar[tuple[str, ...]] = ("postgres",)
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=58081, setting="EVENTYARD_REGISTRY_PORT"),
    )

    @classmethod
    def available(cls) -> bool:
        return importlib.util.find_spec(_MODULE) is not None

    @property
    def url(self) -> str:
        """Base URL of the registry's REST API."""
        return f"http://127.0.0.1:{self.ports['port']}"

    def _dsn(self) -> str:
        server = self.peers["postgres"].endpoints()["EVENTYARD_PG_DSN"]
        info = psycopg.conninfo.conninfo_to_dict(server)
        info["dbname"] = _DATABASE
        return psycopg.conninfo.make_conninfo(
            **{k: str(v) for k, v in info.items() if v is not None}
        )

    def install(self, report: Report) -> None:
        if not self.available():
            raise PrerequisiteMissing(
                f"the schema registry service ({_MODULE})",
                "install eventyard-schema-registry (in this repository: uv sync --all-packages)",
            )

    def prepare(self) -> None:
        server = self.peers["postgres"].endpoints()["EVENTYARD_PG_DSN"]
        with psycopg.connect(server, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (_DATABASE,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(_DATABASE)))

    def launch(self) -> LaunchSpec:
        argv = [sys.executable, "-m", _MODULE, "--host", "127.0.0.1"]
        argv += ["--port", str(self.ports["port"]), "--dsn", self._dsn()]
        return LaunchSpec(argv=argv, env=self._tracing_env(), cwd=self.home)

    def _tracing_env(self) -> dict[str, str]:
        """Where to send traces, when the stack's Jaeger runs (it is not a dependency)."""
        jaeger = self.peers.get("jaeger")
        if jaeger is None or not jaeger.ports or jaeger.pid_file.pid() is None:
            return {}
        return {"EVENTYARD_OTLP_ENDPOINT": jaeger.endpoints()["EVENTYARD_OTLP_ENDPOINT"]}

    def probe(self) -> bool:
        if not port_answers(self.ports["port"]):
            return False
        try:
            return httpx.get(f"{self.url}/subjects", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def endpoints(self) -> dict[str, str]:
        return {"EVENTYARD_REGISTRY_URL": self.url}
