import os
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no types

import eventyard.stack
from eventyard.stack import ConfigError, Endpoints, PrerequisiteMissing, Stack, StackSettings
from eventyard.stack._containers import COMPOSE_ENDPOINTS, ComposeStack
from eventyard.stack._install import require_program
from eventyard.stack._settings import find_project_root
from eventyard.stack._state import StackState


def test_unknown_component_is_named_with_the_known_ones(tmp_path: Path) -> None:
    stack = Stack(StackSettings(state_dir=tmp_path))
    with pytest.raises(ConfigError, match=r"unknown component 'kafak'.*postgres, kafka, connect"):
        stack.resolve(["kafak"])


def test_dependencies_come_along_in_start_order(tmp_path: Path) -> None:
    stack = Stack(StackSettings(state_dir=tmp_path))
    assert [c.name for c in stack.resolve(["connect"])] == ["kafka", "connect"]
    assert [c.name for c in stack.resolve(["connect", "postgres"])] == [
        "postgres",
        "kafka",
        "connect",
    ]


def test_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ConfigError, match="is not a folder"):
        Stack(StackSettings(state_dir=target))


def test_purge_refuses_a_folder_with_foreign_files(tmp_path: Path) -> None:
    (tmp_path / "my-thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match=r"my-thesis\.tex"):
        Stack(StackSettings(state_dir=tmp_path)).down(purge=True)
    assert (tmp_path / "my-thesis.tex").exists()


def test_missing_program_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(PrerequisiteMissing, match=r"java not found: install a Java 17\+ runtime"):
        require_program("java")


def test_state_round_trips_and_tolerates_garbage(tmp_path: Path) -> None:
    state = StackState(path=tmp_path / "state.json", ports={"kafka": {"port": 1234}})
    state.save()
    assert StackState.load(tmp_path / "state.json").ports == {"kafka": {"port": 1234}}
    (tmp_path / "state.json").write_text("{not json")
    assert StackState.load(tmp_path / "state.json").ports == {}


def test_settings_come_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EVENTYARD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("EVENTYARD_KAFKA_PORT", "19092")
    settings = StackSettings()
    assert settings.state_dir == tmp_path
    assert settings.kafka_port == 19092


def test_endpoints_read_and_write_environment_variables() -> None:
    endpoints = Endpoints.from_mapping(
        {"EVENTYARD_PG_DSN": "postgresql://x", "EVENTYARD_KAFKA_BOOTSTRAP": ""}
    )
    assert endpoints.pg_dsn == "postgresql://x"
    assert endpoints.kafka_bootstrap is None
    assert endpoints.as_env() == {"EVENTYARD_PG_DSN": "postgresql://x"}
    filled = endpoints.merged(Endpoints(kafka_bootstrap="127.0.0.1:1", pg_dsn="other"))
    assert filled.pg_dsn == "postgresql://x"
    assert filled.kafka_bootstrap == "127.0.0.1:1"


def test_public_surface_is_pinned() -> None:
    assert set(eventyard.stack.__all__) == {
        "COMPONENTS",
        "POSTGRES_CONNECTOR_CLASS",
        "Component",
        "ComponentFailed",
        "ComponentStatus",
        "ConfigError",
        "ConnectClient",
        "ConnectorFailed",
        "Endpoints",
        "InstallFailed",
        "LaunchSpec",
        "PortInUse",
        "PortSpec",
        "PrerequisiteMissing",
        "Stack",
        "StackError",
        "StackSettings",
        "drop_replication_slot",
        "postgres_connector_config",
    }


@pytest.mark.skipif(os.geteuid() != 0, reason="the service account is used only as root")
def test_state_folder_the_postgres_account_cannot_reach_is_named(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    stack = Stack(StackSettings(state_dir=closed / "state"))
    with pytest.raises(ConfigError, match=r"cannot enter /.*chmod o\+x"):
        stack.components["postgres"].prepare()


def test_containers_backend_without_a_docker_engine_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(PrerequisiteMissing, match="unset EVENTYARD_STACK_BACKEND"):
        ComposeStack(find_project_root()).up()


def test_compose_file_publishes_the_endpoints_the_containers_backend_hands_out() -> None:
    compose = yaml.safe_load((find_project_root() / "docker-compose.yml").read_text())
    published = {
        int(mapping.split(":")[1])
        for service in compose["services"].values()
        for mapping in service.get("ports", [])
    }
    connect_env = compose["services"]["connect"]["environment"]
    published.add(int(connect_env["CONNECT_REST_ADVERTISED_PORT"]))  # host networking
    for url in COMPOSE_ENDPOINTS.as_env().values():
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert port in published, url
