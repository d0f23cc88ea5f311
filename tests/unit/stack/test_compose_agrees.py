"""docker-compose.yml runs what ``eventyard-stack up`` runs: the same versions, the same ports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no types

from eventyard.stack import COMPONENTS, StackSettings

COMPOSE = Path(__file__).resolve().parents[3] / "docker-compose.yml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    return dict(document["services"])


def _tag(service: dict[str, Any]) -> str:
    return str(service["image"]).rsplit(":", 1)[1]


def _published(service: dict[str, Any]) -> set[int]:
    """Host ports a service publishes (``127.0.0.1:HOST:CONTAINER``)."""
    return {int(str(mapping).split(":")[-2]) for mapping in service.get("ports", [])}


def test_versions_are_the_runners() -> None:
    settings = StackSettings()
    document = yaml.safe_load(COMPOSE.read_text())
    assert _tag(document["services"]["kafka"]) == settings.kafka_version
    assert _tag(document["services"]["connect"]) == settings.debezium_version


@pytest.mark.parametrize("component", ["postgres", "kafka", "registry", "jaeger"])
def test_published_ports_are_the_runners_usual_ports(
    services: dict[str, Any], component: str
) -> None:
    (spec,) = [c for c in COMPONENTS if c.name == component]
    usual = {port.usual for port in spec.port_specs if port.role != "controller"}
    assert usual <= _published(services[component]), (
        f"{component}: the runner's usual ports {sorted(usual)} are not all published "
        f"by docker-compose.yml ({sorted(_published(services[component]))})"
    )


def test_connect_listens_on_the_runners_port(services: dict[str, Any]) -> None:
    (spec,) = [c for c in COMPONENTS if c.name == "connect"]
    (port,) = [p.usual for p in spec.port_specs]
    environment = services["connect"]["environment"]
    assert str(port) in " ".join(str(value) for value in environment.values())
