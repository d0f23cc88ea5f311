import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eventyard.stack._process import PidFile
from eventyard.stack._state import StackState
from eventyard.stack.cli import app


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


def test_env_exports_the_trace_backend_and_the_services(state_dir: Path) -> None:
    StackState(
        path=state_dir / "state.json",
        ports={
            "jaeger": {"otlp_http": 54318, "otlp_grpc": 54317, "query": 56686, "query_grpc": 56685},
            "orders": {"port": 58101},
            "order-history": {"port": 58104},
        },
    ).save()
    for name in ("jaeger", "orders", "order-history"):
        PidFile(path=state_dir / "pids" / f"{name}.pid").write(os.getpid())
    result = CliRunner().invoke(app, ["env"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "export EVENTYARD_OTLP_ENDPOINT=http://127.0.0.1:54318",
        "export EVENTYARD_TRACES_URL=http://127.0.0.1:56686",
        "export EVENTYARD_ORDERS_URL=http://127.0.0.1:58101",
        "export EVENTYARD_ORDER_HISTORY_URL=http://127.0.0.1:58104",
    ]


def test_status_lists_jaeger_and_the_services(state_dir: Path) -> None:
    result = CliRunner().invoke(app, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in ("jaeger", "registry", "orders", "customers", "inventory", "order-history"):
        assert f" {name} " in result.stdout


RECORDED = json.loads((Path(__file__).parent / "data" / "jaeger_trace.json").read_text())


def test_trace_of_an_order_asks_the_orders_service_then_prints_the_waterfall(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, ...]] = []

    def order_trace_id(orders_url: str, order_id: str) -> str:
        asked.append(("order", orders_url, order_id))
        return "5b8efff798038103d269b633813fc60c"

    def wait_for_trace(traces_url: str, trace_id: str, *, wait_s: float) -> Any:
        asked.append(("trace", traces_url, trace_id, str(wait_s)))
        return RECORDED["data"][0]

    monkeypatch.setattr("eventyard.stack.cli.order_trace_id", order_trace_id)
    monkeypatch.setattr("eventyard.stack.cli.wait_for_trace", wait_for_trace)
    order = "7d1f4c1e-3c52-4f0e-9a57-2b1c0cbb2b14"
    result = CliRunner().invoke(
        app,
        ["trace", order, "--wait", "2"],
        env={
            "COLUMNS": "160",
            "EVENTYARD_TRACES_URL": "http://jaeger:1",
            "EVENTYARD_ORDERS_URL": "http://orders:2",
        },
    )
    assert result.exit_code == 0, result.output
    assert asked == [
        ("order", "http://orders:2", order),
        ("trace", "http://jaeger:1", "5b8efff798038103d269b633813fc60c", "2.0"),
    ]
    assert "grandchild" in result.stdout
    assert "boom" in result.stdout


def test_trace_without_jaeger_says_how_to_start_it(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENTYARD_TRACES_URL", raising=False)
    result = CliRunner().invoke(app, ["trace", "5b8efff798038103d269b633813fc60c"])
    assert result.exit_code == 1
    assert "Jaeger is not running: eventyard-stack up --only jaeger" in result.output


def test_demo_keeps_the_change_data_capture_round_trip(state_dir: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--cdc" in result.stdout
