"""Kafka Connect (distributed worker) with Debezium's PostgreSQL connector installed."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from eventyard.kafka.connect import POSTGRES_CONNECTOR_CLASS, ConnectClient, ConnectError
from eventyard.stack._component import PortSpec, render_resource
from eventyard.stack._jvm import JvmComponent, MavenFetch
from eventyard.stack._ports import port_answers

__all__ = ["POSTGRES_CONNECTOR_CLASS", "Connect"]


class Connect(JvmComponent):
    """A single Connect worker in distributed mode; its REST API on 127.0.0.1."""

    name: ClassVar[str] = "connect"
    depends_on: ClassVar[tuple[str, ...]] = ("kafka",)
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=58083, setting="EVENTYARD_CONNECT_PORT"),
    )
    main_class: ClassVar[str] = "org.apache.kafka.connect.cli.ConnectDistributed"
    properties_name: ClassVar[str] = "connect-distributed.properties"

    @property
    def jars_dir(self) -> Path:
        """Connect's runtime jars."""
        return self.settings.cache_dir / "jars" / f"connect-{self.settings.kafka_version}"

    @property
    def plugins_dir(self) -> Path:
        """The worker's ``plugin.path``: one folder per plugin below it."""
        return self.settings.cache_dir / "plugins" / f"debezium-{self.settings.debezium_version}"

    @property
    def heap(self) -> str:
        return self.settings.connect_heap

    @property
    def url(self) -> str:
        """Base URL of the REST API."""
        return f"http://127.0.0.1:{self.ports['port']}"

    def fetches(self) -> list[MavenFetch]:
        kafka, debezium = self.settings.kafka_version, self.settings.debezium_version
        return [
            MavenFetch(
                what=f"Kafka Connect {kafka}",
                pom="connect-pom.xml",
                goals=(f"-Dkafka.version={kafka}", "dependency:copy-dependencies"),
                target=self.jars_dir,
            ),
            MavenFetch(
                what=f"Debezium {debezium} PostgreSQL connector",
                pom="debezium-pom.xml",
                goals=(f"-Ddebezium.version={debezium}", "dependency:unpack"),
                target=self.plugins_dir,
            ),
        ]

    def prepare(self) -> None:
        render_resource(
            "connect-distributed.properties",
            self.properties,
            {
                "bootstrap": self.peers["kafka"].endpoints()["EVENTYARD_KAFKA_BOOTSTRAP"],
                "rest_port": self.ports["port"],
                "plugin_path": self.plugins_dir,
            },
        )

    def probe(self) -> bool:
        if not port_answers(self.ports["port"]):
            return False
        try:
            with ConnectClient(self.url, timeout_s=3) as client:
                return POSTGRES_CONNECTOR_CLASS in client.plugins()
        except ConnectError:
            return False

    def endpoints(self) -> dict[str, str]:
        return {"EVENTYARD_CONNECT_URL": self.url}
