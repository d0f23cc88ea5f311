"""The containers backend: ``docker-compose.yml``'s services, started through testcontainers.

Used where a Docker engine runs and ``EVENTYARD_STACK_BACKEND=containers`` asks for it. The
compose file publishes the same ports as the local runner's usual ones; its Jaeger is the
official image, which also serves Jaeger's web UI at the query port.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from eventyard.stack._endpoints import Endpoints
from eventyard.stack._errors import ConfigError, PrerequisiteMissing

__all__ = ["COMPOSE_ENDPOINTS", "ComposeStack"]

COMPOSE_ENDPOINTS = Endpoints(
    pg_dsn="postgresql://postgres:postgres@127.0.0.1:55432/postgres",
    kafka_bootstrap="127.0.0.1:59092",
    connect_url="http://127.0.0.1:58083",
    registry_url="http://127.0.0.1:58081",
    otlp_endpoint="http://127.0.0.1:54318",
    traces_url="http://127.0.0.1:56686",
)


def _require_docker_engine() -> None:
    docker = shutil.which("docker")
    hint = "start a Docker engine, or unset EVENTYARD_STACK_BACKEND to run the stack as processes"
    if docker is None:
        raise PrerequisiteMissing("docker", hint)
    probe = subprocess.run([docker, "info"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise PrerequisiteMissing("a running Docker engine (docker info failed)", hint)


class ComposeStack:
    """Starts and stops the compose project at ``root``."""

    def __init__(self, root: Path) -> None:
        self.compose_file = root / "docker-compose.yml"
        if not self.compose_file.is_file():
            raise ConfigError(f"containers backend: {self.compose_file} does not exist")
        self._compose: Any = None

    def up(self) -> Endpoints:
        """Start every service and wait for their health checks."""
        _require_docker_engine()
        try:
            from testcontainers.compose import DockerCompose  # noqa: PLC0415 - optional extra
        except ImportError as missing:
            raise PrerequisiteMissing(
                "testcontainers", "install eventyard-stack[containers]"
            ) from missing
        self._compose = DockerCompose(
            str(self.compose_file.parent), compose_file_name=self.compose_file.name, wait=True
        )
        self._compose.start()
        return COMPOSE_ENDPOINTS

    def down(self) -> None:
        """Stop and remove the containers."""
        if self._compose is not None:
            self._compose.stop()
            self._compose = None
