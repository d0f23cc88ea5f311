"""The runner's promises, kept by real processes: idempotent up, crash recovery, clear errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from eventyard.stack import ComponentFailed, PortInUse, Stack, StackSettings


@pytest.fixture
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack in its own state folder (reachable by the postgres account), purged afterwards."""
    root = tmp_path_factory.mktemp("stack")
    for folder in (root, *root.parents):
        if folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o001)
    stack = Stack(StackSettings(state_dir=root / "state"))
    yield stack
    stack.down(purge=True)


def test_up_twice_is_harmless_and_keeps_the_same_process(own_stack: Stack) -> None:
    (first,) = [s for s in own_stack.up(["postgres"]) if s.name == "postgres"]
    (second,) = [s for s in own_stack.up(["postgres"]) if s.name == "postgres"]
    assert first.ready
    assert second.ready
    assert first.pid == second.pid


def test_after_kill_up_recovers_from_the_stale_pid_file_and_keeps_data(own_stack: Stack) -> None:
    own_stack.up(["postgres"])
    dsn = own_stack.endpoints()["EVENTYARD_PG_DSN"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    pid_file = own_stack.components["postgres"].pid_file
    assert own_stack.kill("postgres")
    assert pid_file.pid() is None
    assert not own_stack.kill("postgres")  # already dead: nothing to kill

    (status,) = [s for s in own_stack.up(["postgres"]) if s.name == "postgres"]
    assert status.ready
    assert own_stack.endpoints()["EVENTYARD_PG_DSN"] == dsn  # same port after the crash
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT id FROM kept").fetchall() == [(42,)]


def test_a_component_that_cannot_start_fails_with_its_log_tail(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    settings = StackSettings(state_dir=tmp_path / "state", kafka_heap="lots")
    stack = Stack(settings)
    try:
        with pytest.raises(ComponentFailed) as caught:
            stack.up(["kafka"])
    finally:
        stack.down(purge=True)
    assert caught.value.component == "kafka"
    assert "Invalid" in caught.value.log_tail  # the JVM's own words about the heap size
    assert str(caught.value.log_path) in str(caught.value)


def test_a_configured_port_in_use_fails_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        monkeypatch.setenv("EVENTYARD_PG_PORT", str(port))
        stack = Stack(StackSettings(state_dir=tmp_path / "state"))
        with pytest.raises(PortInUse, match=f"port {port} \\(from EVENTYARD_PG_PORT\\)"):
            stack.up(["postgres"])
    assert stack.components["postgres"].pid_file.pid() is None
    assert not (tmp_path / "state" / "postgres" / "data").exists()


def test_usual_port_taken_means_another_port_and_a_note(tmp_path: Path, own_stack: Stack) -> None:
    notes: list[str] = []
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        component = own_stack.components["postgres"]
        component.ports = {"port": taken}  # as if remembered from an earlier run
        own_stack._report = notes.append
        own_stack.up(["postgres"])
    assert component.ports["port"] != taken
    assert any(f"port {taken} is in use" in note for note in notes)
    assert component.log_path.exists()
