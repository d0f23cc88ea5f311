"""What every stack component provides to the runner."""

from __future__ import annotations

import signal
import string
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

from eventyard.stack._process import PidFile
from eventyard.stack._settings import StackSettings

__all__ = ["Component", "LaunchSpec", "PortSpec", "render_resource", "resource_path"]

Report = Callable[[str], None]


def resource_path(name: str) -> Path:
    """Path of a file shipped in ``eventyard/stack/resources``."""
    return Path(str(files("eventyard.stack") / "resources" / name))


def render_resource(name: str, target: Path, values: Mapping[str, object]) -> Path:
    """Fill the ``${name}`` placeholders of a shipped template into ``target``."""
    template = string.Template(resource_path(name).read_text())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(template.substitute({k: str(v) for k, v in values.items()}))
    return target


@dataclass(frozen=True, kw_only=True)
class PortSpec:
    """One port a component listens on: its role, usual number and overriding setting."""

    role: str
    usual: int
    setting: str


@dataclass(frozen=True, kw_only=True)
class LaunchSpec:
    """How to start a component's process."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None


class Component(ABC):
    """A long-running process of the stack, with its install, start and readiness steps.

    The runner fills in ``ports`` (this component's) and ``peers`` (every component by name)
    before ``prepare`` is called.
    """

    name: ClassVar[str]
    depends_on: ClassVar[tuple[str, ...]] = ()
    port_specs: ClassVar[tuple[PortSpec, ...]]
    stop_signal: ClassVar[signal.Signals] = signal.SIGTERM
    stop_timeout_s: ClassVar[float] = 30.0

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.ports: dict[str, int] = {}
        self.peers: dict[str, Component] = {}

    @classmethod
    def available(cls) -> bool:
        """False when this component cannot run here (an optional package is missing).

        ``up`` without names skips unavailable components; naming one shows why it cannot run.
        """
        return True

    @property
    def home(self) -> Path:
        """This component's folder under the state folder."""
        return self.settings.state_dir / self.name

    @property
    def log_path(self) -> Path:
        """Where the component's output goes."""
        return self.settings.state_dir / "logs" / f"{self.name}.log"

    @property
    def pid_file(self) -> PidFile:
        """The component's pid file."""
        return PidFile(path=self.settings.state_dir / "pids" / f"{self.name}.pid")

    def configured_port(self, spec: PortSpec) -> int | None:
        """The port set for ``spec`` in the settings, if any."""
        value = getattr(self.settings, spec.setting.removeprefix("EVENTYARD_").lower(), None)
        return value if isinstance(value, int) else None

    @abstractmethod
    def install(self, report: Report) -> None:
        """Make sure binaries and jars are present, fetching them where possible."""

    @abstractmethod
    def prepare(self) -> None:
        """Create data folders and config files for the chosen ports."""

    @abstractmethod
    def launch(self) -> LaunchSpec:
        """The process to start."""

    @abstractmethod
    def probe(self) -> bool:
        """True when the component really serves requests."""

    @abstractmethod
    def endpoints(self) -> dict[str, str]:
        """Environment variables that tell clients where this component is."""

    def describe(self) -> str:
        """A short endpoint description for tables."""
        return ", ".join(f"{k}={v}" for k, v in self.endpoints().items())
