"""Kafka Connect (distributed worker) with Debezium's PostgreSQL connector installed."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import httpx

from ._component import Component, LaunchSpec, PortSpec, Report, render_resource, resource_path
from ._install import maven_fetch, require_program
from ._jvm import java_argv
from ._kafka import port_answers

__all__ = ["POSTGRES_CONNECTOR_CLASS", "Connect"]

POSTGRES_CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector"


class Connect(Component):
    """A single Connect worker in distributed mode; its REST API on 127.0.0.1."""

    name: ClassVar[str] = "connect"
    depends_on: ClassVar[tuple[str, ...]] = ("kafka",)
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=58083, setting="EVENTYARD_CONNECT_PORT"),
    )

    @property
    def jars_dir(self) -> Path:
        """Connect's runtime jars."""
        return self.settings.cache_dir / "jars" / f"connect-{self.settings.kafka_version}"

    @property
    def plugins_dir(self) -> Path:
        """The worker's ``plugin.path``: one folder per plugin below it."""
        return self.settings.cache_dir / "plugins" / f"debezium-{self.settings.debezium_version}"

    @property
    def url(self) -> str:
        """Base URL of the REST API."""
        return f"http://127.0.0.1:{self.ports['port']}"

    @property
    def _properties(self) -> Path:
        return self.home / "connect-distributed.properties"

    def install(self, report: Report) -> None:
        require_program("java")
        version = self.settings.kafka_version
        if not self.jars_dir.is_dir():
            report(f"fetching Kafka Connect {version} from Maven Central")
        maven_fetch(
            what=f"Kafka Connect {version}",
            pom=resource_path("connect-pom.xml"),
            goals=[f"-Dkafka.version={version}", "dependency:copy-dependencies"],
            target=self.jars_dir,
            log_path=self.log_path,
        )
        debezium = self.settings.debezium_version
        if not self.plugins_dir.is_dir():
            report(f"fetching Debezium {debezium} PostgreSQL connector from Maven Central")
        maven_fetch(
            what=f"Debezium {debezium} PostgreSQL connector",
            pom=resource_path("debezium-pom.xml"),
            goals=[f"-Ddebezium.version={debezium}", "dependency:unpack"],
            target=self.plugins_dir,
            log_path=self.log_path,
        )

    def prepare(self) -> None:
        render_resource(
            "connect-distributed.properties",
            self._properties,
            {
                "bootstrap": self.peers["kafka"].endpoints()["EVENTYARD_KAFKA_BOOTSTRAP"],
                "rest_port": self.ports["port"],
                "plugin_path": self.plugins_dir,
            },
        )

    def launch(self) -> LaunchSpec:
        return LaunchSpec(
            argv=java_argv(
                heap=self.settings.connect_heap,
                classpath=self.jars_dir,
                main="org.apache.kafka.connect.cli.ConnectDistributed",
                args=[str(self._properties)],
                logs_dir=self.home / "logs",
            ),
            cwd=self.home,
        )

    def probe(self) -> bool:
        if not port_answers(self.ports["port"]):
            return False
        try:
            response = httpx.get(f"{self.url}/connector-plugins", timeout=3)
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        return any(p.get("class") == POSTGRES_CONNECTOR_CLASS for p in response.json())

    def endpoints(self) -> dict[str, str]:
        return {"EVENTYARD_CONNECT_URL": self.url}
