import os
import stat
import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no types

from eventyard.stack import InstallFailed, PortSpec, PrerequisiteMissing, Stack, StackSettings
from eventyard.stack._go import GoBuild, find_go, go_build
from eventyard.stack._jaeger import Jaeger
from eventyard.stack._services import ShopService

SERVICES = ("orders", "customers", "inventory", "order-history")


def test_default_stack_has_jaeger_and_the_shop_services_stopped_services_first(
    tmp_path: Path,
) -> None:
    stack = Stack(StackSettings(state_dir=tmp_path))
    names = list(stack.components)
    assert names[:5] == ["postgres", "kafka", "connect", "jaeger", "registry"]
    assert names[5:] == list(SERVICES)
    assert stack.resolve(["jaeger"]) == [stack.components["jaeger"]]
    history = [c.name for c in stack.resolve(["order-history"])]
    assert history == [
        *("postgres", "kafka", "connect", "jaeger", "registry"),
        *("orders", "customers", "order-history"),
    ]


def test_jaeger_config_keeps_traces_in_memory_on_the_chosen_ports(tmp_path: Path) -> None:
    jaeger = Jaeger(StackSettings(state_dir=tmp_path, cache_dir=tmp_path / "cache"))
    jaeger.ports = {"otlp_http": 1, "otlp_grpc": 2, "query": 3, "query_grpc": 4}
    jaeger.prepare()
    config = yaml.safe_load(jaeger.config_path.read_text())
    assert config["receivers"]["otlp"]["protocols"] == {
        "http": {"endpoint": "127.0.0.1:1"},
        "grpc": {"endpoint": "127.0.0.1:2"},
    }
    query = config["extensions"]["jaeger_query"]
    assert (query["http"]["endpoint"], query["grpc"]["endpoint"]) == ("127.0.0.1:3", "127.0.0.1:4")
    (backend,) = config["extensions"]["jaeger_storage"]["backends"].values()
    assert backend == {"memory": {"max_traces": 100000}}
    assert config["service"]["telemetry"]["metrics"]["level"] == "none"
    assert jaeger.endpoints() == {
        "EVENTYARD_OTLP_ENDPOINT": "http://127.0.0.1:1",
        "EVENTYARD_TRACES_URL": "http://127.0.0.1:3",
    }
    assert jaeger.binary == tmp_path / "cache" / "bin" / "jaeger-1.75.0"
    assert jaeger.launch().argv == [str(jaeger.binary), "--config", str(jaeger.config_path)]


def test_jaeger_ports_follow_their_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_OTLP_HTTP_PORT", "14318")
    monkeypatch.setenv("EVENTYARD_JAEGER_QUERY_PORT", "16686")
    jaeger = Jaeger(StackSettings())
    configured = {spec.role: jaeger.configured_port(spec) for spec in jaeger.port_specs}
    assert configured == {"otlp_http": 14318, "otlp_grpc": None, "query": 16686, "query_grpc": None}
    assert {spec.role: spec.usual for spec in jaeger.port_specs} == {
        "otlp_http": 54318,
        "otlp_grpc": 54317,
        "query": 56686,
        "query_grpc": 56685,
    }


def test_missing_go_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("eventyard.stack._go.shutil.which", lambda *_a, **_k: None)
    with pytest.raises(PrerequisiteMissing, match=r"^go not found: install Go 1\.24\+"):
        find_go()


def _fake_go(folder: Path, *, fail_build: bool = False) -> Path:
    """A ``go`` that logs its arguments and, on ``build -o X``, writes X (or fails)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "go"
    build = "echo compile error >&2; exit 2" if fail_build else 'echo binary > "$out"'
    script.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        echo "go $*" >> "{folder}/calls"
        if [ "$1" = build ]; then
          while [ "$1" != -o ]; do shift; done; out="$2"
          {build}
        fi
        """)
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def _build(target: Path) -> GoBuild:
    return GoBuild(
        what="Tool 1.0",
        package="example.com/tool/cmd/tool",
        version="v1.0.0",
        target=target,
        replaces=("example.com/a=example.com/a@v1.2.3",),
    )


def test_go_build_runs_the_scratch_module_recipe_and_renames_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_go(tmp_path / "gobin")
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    target = tmp_path / "cache" / "bin" / "tool-1.0"
    progress: list[str] = []
    built = go_build(
        _build(target),
        cache_dir=tmp_path / "cache",
        log_path=tmp_path / "tool.log",
        report=progress.append,
    )
    assert built == target
    assert target.read_text() == "binary\n"
    calls = (fake / "calls").read_text().splitlines()
    assert calls[:3] == [
        "go mod init eventyardbuild",
        "go mod edit -replace=example.com/a=example.com/a@v1.2.3",
        "go get -tool example.com/tool/cmd/tool@v1.0.0",
    ]
    assert calls[3].startswith("go build -trimpath -ldflags=-s -w -o ")
    assert calls[3].endswith(" example.com/tool/cmd/tool")
    assert str(target) not in calls[3]  # built beside it, then renamed
    assert any("compiling" in line for line in progress)
    assert sorted(p.name for p in target.parent.iterdir()) == ["tool-1.0"]
    # Cached: a second call does not run go at all.
    go_build(_build(target), cache_dir=tmp_path / "cache", log_path=tmp_path / "tool.log",
             report=progress.append)  # fmt: skip
    assert len((fake / "calls").read_text().splitlines()) == 4


def test_failed_go_build_leaves_nothing_a_later_run_would_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_go(tmp_path / "gobin", fail_build=True)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    target = tmp_path / "cache" / "bin" / "tool-1.0"
    with pytest.raises(InstallFailed, match=r"(?s)exited with 2.*compile error"):
        go_build(_build(target), cache_dir=tmp_path / "cache", log_path=tmp_path / "tool.log",
                 report=lambda _m: None)  # fmt: skip
    assert list(target.parent.iterdir()) == []


def test_services_launch_with_the_peers_endpoints(tmp_path: Path) -> None:
    stack = Stack(StackSettings(state_dir=tmp_path))
    ports = {
        "postgres": {"port": 1},
        "kafka": {"port": 2, "controller": 3},
        "connect": {"port": 4},
        "jaeger": {"otlp_http": 5, "otlp_grpc": 6, "query": 7, "query_grpc": 8},
        "registry": {"port": 9},
        "orders": {"port": 58101},
        "order-history": {"port": 58104},
    }
    for name, roles in ports.items():
        stack.components[name].ports = roles
    orders = stack.components["orders"]
    spec = orders.launch()
    assert spec.argv == [sys.executable, "-m", "eventyard_orders", "serve",
                         "--host", "127.0.0.1", "--port", "58101"]  # fmt: skip
    assert spec.env == {
        "EVENTYARD_PG_DSN": "postgresql://postgres@127.0.0.1:1/postgres",
        "EVENTYARD_KAFKA_BOOTSTRAP": "127.0.0.1:2",
        "EVENTYARD_REGISTRY_URL": "http://127.0.0.1:9",
        "EVENTYARD_OTLP_ENDPOINT": "http://127.0.0.1:5",
    }
    assert orders.endpoints() == {"EVENTYARD_ORDERS_URL": "http://127.0.0.1:58101"}
    history = stack.components["order-history"]
    assert history.launch().env["EVENTYARD_CONNECT_URL"] == "http://127.0.0.1:4"
    assert history.endpoints() == {"EVENTYARD_ORDER_HISTORY_URL": "http://127.0.0.1:58104"}
    assert {c.name: c.port_specs[0].setting for c in stack.components.values()
            if isinstance(c, ShopService)} == {
        "orders": "EVENTYARD_ORDERS_PORT",
        "customers": "EVENTYARD_CUSTOMERS_PORT",
        "inventory": "EVENTYARD_INVENTORY_PORT",
        "order-history": "EVENTYARD_ORDER_HISTORY_PORT",
    }  # fmt: skip


# A stand-in service: `python -m <package> serve --host H --port P` answering /readyz.
_STAND_IN = """
import http.server, signal, sys

args = sys.argv[1:]
assert args[0] == "serve", args
port = int(args[args.index("--port") + 1])

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/readyz" else 404)
        self.end_headers()

server = http.server.HTTPServer(("127.0.0.1", port), Handler)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server.serve_forever()
"""


class _StandIn(ShopService):
    name: ClassVar[str] = "stand-in"
    package: ClassVar[str] = "eventyard_stand_in_service"
    depends_on: ClassVar[tuple[str, ...]] = ()
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=58199, setting="EVENTYARD_STAND_IN_PORT"),
    )


class _Missing(ShopService):
    name: ClassVar[str] = "missing"
    package: ClassVar[str] = "eventyard_no_such_service"
    depends_on: ClassVar[tuple[str, ...]] = ()
    port_specs: ClassVar[tuple[PortSpec, ...]] = ()


def test_a_service_component_starts_is_left_alone_when_running_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "eventyard_stand_in_service"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(_STAND_IN)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    stack = Stack(StackSettings(state_dir=tmp_path / "state"), components=[_StandIn, _Missing])
    assert [c.name for c in stack.resolve()] == ["stand-in"]  # the missing one is skipped
    try:
        (first,) = [s for s in stack.up() if s.name == "stand-in"]
        assert first.ready
        (again,) = [s for s in stack.up() if s.name == "stand-in"]
        assert again.pid == first.pid
        url = stack.endpoints()["EVENTYARD_STAND_IN_URL"]
        assert url.startswith("http://127.0.0.1:")
    finally:
        stack.down()
    assert stack.components["stand-in"].pid_file.pid() is None
    assert stack.endpoints() == {}
    with pytest.raises(PrerequisiteMissing, match="the missing service"):
        stack.up(["missing"])
