"""Jaeger v2, the trace backend: OTLP in, traces in memory, the query API out."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import httpx

from eventyard.stack._component import Component, LaunchSpec, PortSpec, Report, render_resource
from eventyard.stack._go import GoBuild, go_build
from eventyard.stack._ports import port_answers

__all__ = ["Jaeger"]

_PACKAGE = "github.com/jaegertracing/jaeger/cmd/jaeger"
# Jaeger's own go.mod pins sarama with a replace, which a dependent module does not inherit.
_REPLACES = ("github.com/Shopify/sarama=github.com/Shopify/sarama@v1.33.0",)


class Jaeger(Component):
    """Jaeger built from source with the Go toolchain (once per version), one process.

    The Go module serves no web UI (its page is a placeholder): ``eventyard-stack trace`` shows
    traces from the query API instead.
    """

    name: ClassVar[str] = "jaeger"
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="otlp_http", usual=54318, setting="EVENTYARD_OTLP_HTTP_PORT"),
        PortSpec(role="otlp_grpc", usual=54317, setting="EVENTYARD_OTLP_GRPC_PORT"),
        PortSpec(role="query", usual=56686, setting="EVENTYARD_JAEGER_QUERY_PORT"),
        PortSpec(role="query_grpc", usual=56685, setting="EVENTYARD_JAEGER_QUERY_GRPC_PORT"),
    )

    @property
    def binary(self) -> Path:
        """The cached binary, shared by every state folder."""
        return self.settings.cache_dir / "bin" / f"jaeger-{self.settings.jaeger_version}"

    @property
    def config_path(self) -> Path:
        """The rendered configuration."""
        return self.home / "jaeger.yaml"

    @property
    def traces_url(self) -> str:
        """Base URL of the query API (``/api/traces/<id>``)."""
        return f"http://127.0.0.1:{self.ports['query']}"

    @property
    def otlp_endpoint(self) -> str:
        """Base URL of the OTLP/HTTP receiver (exporters append ``/v1/traces``)."""
        return f"http://127.0.0.1:{self.ports['otlp_http']}"

    def install(self, report: Report) -> None:
        build = GoBuild(
            what=f"Jaeger {self.settings.jaeger_version}",
            package=_PACKAGE,
            version=f"v{self.settings.jaeger_version}",
            target=self.binary,
            replaces=_REPLACES,
        )
        go_build(build, cache_dir=self.settings.cache_dir, log_path=self.log_path, report=report)

    def prepare(self) -> None:
        render_resource(
            "jaeger.yaml",
            self.config_path,
            {
                "otlp_http_port": self.ports["otlp_http"],
                "otlp_grpc_port": self.ports["otlp_grpc"],
                "query_port": self.ports["query"],
                "query_grpc_port": self.ports["query_grpc"],
            },
        )

    def launch(self) -> LaunchSpec:
        return LaunchSpec(argv=[str(self.binary), "--config", str(self.config_path)], cwd=self.home)

    def probe(self) -> bool:
        if not port_answers(self.ports["query"]):
            return False
        try:
            return httpx.get(f"{self.traces_url}/api/services", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def endpoints(self) -> dict[str, str]:
        return {
            "EVENTYARD_OTLP_ENDPOINT": self.otlp_endpoint,
            "EVENTYARD_TRACES_URL": self.traces_url,
        }
