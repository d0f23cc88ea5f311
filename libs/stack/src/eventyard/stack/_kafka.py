"""Apache Kafka 4.x as a single KRaft node (broker and controller in one process)."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path
from typing import ClassVar

from confluent_kafka.admin import AdminClient

from eventyard.stack._component import PortSpec, render_resource
from eventyard.stack._errors import ComponentFailed
from eventyard.stack._jvm import JvmComponent, MavenFetch, java_argv
from eventyard.stack._ports import port_answers
from eventyard.stack._process import read_log_tail

__all__ = ["Kafka"]


class Kafka(JvmComponent):
    """One KRaft node under ``<state_dir>/kafka``, listening on 127.0.0.1."""

    name: ClassVar[str] = "kafka"
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=59092, setting="EVENTYARD_KAFKA_PORT"),
        PortSpec(role="controller", usual=59093, setting="EVENTYARD_KAFKA_CONTROLLER_PORT"),
    )
    main_class: ClassVar[str] = "kafka.Kafka"
    properties_name: ClassVar[str] = "server.properties"

    @property
    def jars_dir(self) -> Path:
        """Kafka's runtime jars, shared by every state folder."""
        return self.settings.cache_dir / "jars" / f"kafka-{self.settings.kafka_version}"

    @property
    def heap(self) -> str:
        return self.settings.kafka_heap

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers string for clients."""
        return f"127.0.0.1:{self.ports['port']}"

    def fetches(self) -> list[MavenFetch]:
        version = self.settings.kafka_version
        return [
            MavenFetch(
                what=f"Kafka {version}",
                pom="kafka-pom.xml",
                goals=(f"-Dkafka.version={version}", "dependency:copy-dependencies"),
                target=self.jars_dir,
            )
        ]

    def prepare(self) -> None:
        data = self.home / "data"
        render_resource(
            "server.properties",
            self.properties,
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
            args=["format", "-t", cluster_id, "-c", str(self.properties)],
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
