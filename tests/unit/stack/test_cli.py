import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eventyard.stack._process import PidFile
from eventyard.stack._state import StackState
from eventyard.stack.cli import app

pytestmark = pytest.mark.unit


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EVENTYARD_STATE_DIR", str(tmp_path))
    return tmp_path


def test_env_prints_export_lines_for_running_components_only(state_dir: Path) -> None:
    StackState(
        path=state_dir / "state.json",
        ports={"postgres": {"port": 5555}, "kafka": {"port": 9999, "controller": 9998}},
    ).save()
    # postgres "runs" (a live pid: this test's own); kafka has ports but no process.
    PidFile(path=state_dir / "pids" / "postgres.pid").write(os.getpid())
    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "export EVENTYARD_PG_DSN=postgresql://postgres@127.0.0.1:5555/postgres",
    ]


def test_unknown_component_is_a_one_line_error(state_dir: Path) -> None:
    result = CliRunner().invoke(app, ["logs", "zookeeper"])
    assert result.exit_code == 1
    assert "unknown component 'zookeeper'" in result.output


def test_kill_of_a_stopped_component_says_so(state_dir: Path) -> None:
    result = CliRunner().invoke(app, ["kill", "kafka"])
    assert result.exit_code == 0
    assert "kafka was not running" in result.output


def test_status_of_a_fresh_folder_lists_every_component_stopped(state_dir: Path) -> None:
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("postgres", "kafka", "connect"):
        assert name in result.stdout
    assert "ready" not in result.stdout
