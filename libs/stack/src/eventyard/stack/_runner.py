"""The stack runner: starts, checks, stops and kills components as local processes."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from eventyard.stack._component import Component
from eventyard.stack._connect import Connect
from eventyard.stack._errors import ComponentFailed, ConfigError
from eventyard.stack._jaeger import Jaeger
from eventyard.stack._kafka import Kafka
from eventyard.stack._ports import choose_port
from eventyard.stack._postgres import Postgres
from eventyard.stack._process import read_log_tail, spawn
from eventyard.stack._registry import Registry
from eventyard.stack._services import SHOP_SERVICES
from eventyard.stack._settings import StackSettings
from eventyard.stack._state import StackState

__all__ = ["COMPONENTS", "ComponentStatus", "Stack"]

COMPONENTS: tuple[type[Component], ...] = (
    Postgres,
    Kafka,
    Connect,
    Jaeger,
    Registry,
    *SHOP_SERVICES,
)

# Folders and files the runner creates; `down --purge` refuses to wipe a folder with others.
_OWN_ENTRIES = {"state.json", "state.tmp", ".lock", "logs", "pids"}


@dataclass(frozen=True, kw_only=True)
class ComponentStatus:
    """What ``status`` knows of one component."""

    name: str
    pid: int | None
    ready: bool
    endpoints: dict[str, str]
    log_path: Path
    started_s: float | None = None


class Stack:
    """The local stack under one state folder.

    Every method is safe to call while another process uses the same folder: ``up``, ``down``,
    ``kill`` and ``restart`` hold a lock on ``<state_dir>/.lock``.
    """

    def __init__(
        self,
        settings: StackSettings | None = None,
        *,
        report: Callable[[str], None] | None = None,
        components: Sequence[type[Component]] = COMPONENTS,
    ) -> None:
        self.settings = settings or StackSettings()
        self._report = report or (lambda _message: None)
        if self.settings.state_dir.exists() and not self.settings.state_dir.is_dir():
            raise ConfigError(f"state folder {self.settings.state_dir} exists and is not a folder")
        self._state = StackState.load(self.settings.state_dir / "state.json")
        self.components: dict[str, Component] = {}
        for kind in components:
            component = kind(self.settings)
            component.ports = dict(self._state.ports.get(component.name, {}))
            self.components[component.name] = component
        for component in self.components.values():
            component.peers = self.components

    # ----------------------------------------------------------------- queries

    def resolve(self, only: Iterable[str] | None = None) -> list[Component]:
        """The named components and what they depend on, in start order."""
        if only is None:
            return [c for c in self.components.values() if c.available()]
        wanted: set[str] = set()
        pending = list(only)
        while pending:
            name = pending.pop()
            if name not in self.components:
                known = ", ".join(self.components)
                raise ConfigError(f"unknown component {name!r}; known components: {known}")
            if name not in wanted:
                wanted.add(name)
                pending.extend(self.components[name].depends_on)
        return [c for c in self.components.values() if c.name in wanted]

    def status(self) -> list[ComponentStatus]:
        """Each component's pid, readiness and endpoints."""
        result = []
        for component in self.components.values():
            pid = component.pid_file.pid()
            ready = pid is not None and bool(component.ports) and component.probe()
            result.append(
                ComponentStatus(
                    name=component.name,
                    pid=pid,
                    ready=ready,
                    endpoints=component.endpoints() if component.ports else {},
                    log_path=component.log_path,
                )
            )
        return result

    def endpoints(self) -> dict[str, str]:
        """Environment variables for every running component."""
        env: dict[str, str] = {}
        for component in self.components.values():
            if component.ports and component.pid_file.pid() is not None:
                env.update(component.endpoints())
        return env

    # ----------------------------------------------------------------- actions

    def up(self, only: Iterable[str] | None = None) -> list[ComponentStatus]:
        """Start what is not running (and its dependencies); wait until each is ready."""
        timings: dict[str, float] = {}
        with self._locked():
            for component in self.resolve(only):
                started = time.monotonic()
                self._start(component)
                timings[component.name] = time.monotonic() - started
        return [
            ComponentStatus(
                name=s.name,
                pid=s.pid,
                ready=s.ready,
                endpoints=s.endpoints,
                log_path=s.log_path,
                started_s=timings.get(s.name),
            )
            for s in self.status()
        ]

    def down(self, *, purge: bool = False) -> None:
        """Stop every component, last started first; with ``purge`` also delete all state."""
        with self._locked():
            for component in reversed(list(self.components.values())):
                self._stop(component)
        if purge:
            self._purge()

    def stop(self, name: str) -> None:
        """Stop one component cleanly (nothing that depends on it is stopped)."""
        (component,) = (c for c in self.resolve([name]) if c.name == name)
        with self._locked():
            self._stop(component)

    def kill(self, name: str) -> bool:
        """SIGKILL a component and its children, as a crash would; False if it was not running."""
        (component,) = (c for c in self.resolve([name]) if c.name == name)
        with self._locked():
            if not component.pid_file.kill_group(10):
                return False
            self._report(f"{name} killed")
            return True

    def restart(self, name: str) -> None:
        """Stop a component cleanly (if running) and start it again on the same ports."""
        (component,) = (c for c in self.resolve([name]) if c.name == name)
        with self._locked():
            self._stop(component)
            for needed in self.resolve([name]):
                self._start(needed)

    def log_tail(self, name: str, lines: int = 50) -> str:
        """The last lines of a component's log."""
        (component,) = (c for c in self.resolve([name]) if c.name == name)
        return read_log_tail(component.log_path, lines)

    # ----------------------------------------------------------------- internals

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        with (self.settings.state_dir / ".lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _start(self, component: Component) -> None:
        pid = component.pid_file.pid()
        if pid is not None and component.ports:
            self._wait_ready(component, already_running=True)
            return
        self._assign_ports(component)
        component.home.mkdir(parents=True, exist_ok=True)
        component.install(self._report)
        component.prepare()
        spec = component.launch()
        self._report(f"{component.name}: starting ({component.describe()})")
        spawn(
            spec.argv,
            log_path=component.log_path,
            pid_file=component.pid_file,
            env=spec.env,
            cwd=spec.cwd,
            user=spec.user,
        )
        self._wait_ready(component, already_running=False)

    def _assign_ports(self, component: Component) -> None:
        taken = {
            port
            for name, roles in self._state.ports.items()
            if name != component.name
            for port in roles.values()
        }
        for spec in component.port_specs:
            choice = choose_port(
                component=component.name,
                configured=component.configured_port(spec),
                setting=spec.setting,
                remembered=component.ports.get(spec.role),
                usual=spec.usual,
                taken=taken,
            )
            if choice.note:
                self._report(choice.note)
            component.ports[spec.role] = choice.port
            taken.add(choice.port)
        self._state.ports[component.name] = dict(component.ports)
        self._state.save()

    def _wait_ready(self, component: Component, *, already_running: bool) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_s
        while time.monotonic() < deadline:
            if component.pid_file.pid() is None:
                raise ComponentFailed(
                    component.name,
                    "exited while starting",
                    component.log_path,
                    read_log_tail(component.log_path),
                )
            if component.probe():
                verb = "already running" if already_running else "ready"
                self._report(f"{component.name}: {verb} ({component.describe()})")
                return
            time.sleep(0.25)
        raise ComponentFailed(
            component.name,
            f"was not ready after {self.settings.start_timeout_s:.0f} s",
            component.log_path,
            read_log_tail(component.log_path),
        )

    def _stop(self, component: Component) -> None:
        if not component.pid_file.signal(component.stop_signal):
            return
        if not component.pid_file.wait_gone(component.stop_timeout_s):
            self._report(f"{component.name}: no clean stop in {component.stop_timeout_s:.0f} s")
            component.pid_file.signal(signal.SIGKILL, group=True)
            component.pid_file.wait_gone(10)
        component.pid_file.clear()
        self._report(f"{component.name}: stopped")

    def _purge(self) -> None:
        state_dir = self.settings.state_dir
        if not state_dir.exists():
            return
        own = _OWN_ENTRIES | set(self.components)
        foreign = sorted(p.name for p in state_dir.iterdir() if p.name not in own)
        if foreign:
            raise ConfigError(
                f"not purging {state_dir}: it holds files the stack did not make: "
                + ", ".join(foreign[:5])
            )
        shutil.rmtree(state_dir)
        self._report(f"purged {state_dir}")
