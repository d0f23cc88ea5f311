"""Apache Kafka 4.x as a single KRaft node (broker and controller in one process)."""

from __future__ import annotations

import base64
import socket
import subprocess
import uuid
from pathlib import Path
from typing import ClassVar

from confluent_kafka.admin import AdminClient

from ._component import Component, LaunchSpec, PortSpec, Report, render_resource, resource_path
from ._errors import ComponentFailed
from ._install import maven_fetch, require_program
from ._jvm import java_argv
from ._process import read_log_tail

__all__ = ["Kafka", "port_answers"]


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class Kafka(Component):
    """One KRaft node under ``<state_dir>/kafka``, listening on 127.0.0.1."""

    name: ClassVar[str] = "kafka"
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=59092, setting="EVENTYARD_KAFKA_PORT"),
        PortSpec(role="controller", usual=59093, setting="EVENTYARD_KAFKA_CONTROLLER_PORT"),
    )

    @property
    def jars_dir(self) -> Path:
        """Kafka's runtime jars, shared by every state folder."""
        return self.settings.cache_dir / "jars" / f"kafka-{self.settings.kafka_version}"

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers string for clients."""
        return f"127.0.0.1:{self.ports['port']}"

    @property
    def _properties(self) -> Path:
        return self.home / "server.properties"

    def install(self, report: Report) -> None:
        require_program("java")
        if not self.jars_dir.is_dir():
            report(f"fetching Kafka {self.settings.kafka_version} from Maven Central")
        maven_fetch(
            what=f"Kafka {self.settings.kafka_version}",
            pom=resource_path("kafka-pom.xml"),
            goals=[
                f"-Dkafka.version={self.settings.kafka_version}",
                "dependency:copy-dependencies",
            ],
            target=self.jars_dir,
            log_path=self.log_path,
        )

    def prepare(self) -> None:
        data = self.home / "data"
        render_resource(
            "server.properties",
            self._properties,
            {
                "data_dir": data,
                "port": self.ports["port"],
                "controller_port": self.ports["controller"],
            },
        )
        if (data / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        argv = java_argv(
            heap="256m",
            classpath=self.jars_dir,
            main="kafka.tools.StorageTool",
            args=["format", "-t", cluster_id, "-c", str(self._properties)],
            logs_dir=self.home / "logs",
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            raise ComponentFailed(
                self.name,
                "could not format its storage",
                self.log_path,
                read_log_tail(self.log_path),
            )

    def launch(self) -> LaunchSpec:
        return LaunchSpec(
            argv=java_argv(
                heap=self.settings.kafka_heap,
                classpath=self.jars_dir,
                main="kafka.Kafka",
                args=[str(self._properties)],
                logs_dir=self.home / "logs",
            ),
            cwd=self.home,
        )

    def probe(self) -> bool:
        if not port_answers(self.ports["port"]):
            return False
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})
        try:
            metadata = admin.list_topics(timeout=3)
        except Exception:
            return False
        return bool(metadata.brokers)

    def endpoints(self) -> dict[str, str]:
        return {"EVENTYARD_KAFKA_BOOTSTRAP": self.bootstrap}
