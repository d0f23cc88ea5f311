"""Errors raised by the stack runner.

::

    StackError
    ├── PrerequisiteMissing   a binary (java, mvn, initdb, ...) is not installed
    ├── PortInUse             a port that was asked for explicitly is taken
    ├── ConfigError           a setting or the state folder is unusable
    ├── InstallFailed         fetching jars from Maven Central failed
    └── ComponentFailed       a component exited or never became ready; carries its log tail
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ComponentFailed",
    "ConfigError",
    "InstallFailed",
    "PortInUse",
    "PrerequisiteMissing",
    "StackError",
]


class StackError(Exception):
    """Base of every error the stack runner raises on purpose."""


class PrerequisiteMissing(StackError):
    """A program the stack needs is not installed."""

    def __init__(self, program: str, install_hint: str) -> None:
        self.program = program
        self.install_hint = install_hint
        super().__init__(f"{program} not found: {install_hint}")


class PortInUse(StackError):
    """A configured port is already taken by another process."""

    def __init__(self, component: str, port: int, setting: str) -> None:
        self.component = component
        self.port = port
        self.setting = setting
        super().__init__(
            f"{component}: port {port} (from {setting}) is already in use; "
            f"free it or unset {setting} to let eventyard-stack pick a free port"
        )


class ConfigError(StackError):
    """A setting is invalid or the state folder cannot be used."""


class InstallFailed(StackError):
    """Fetching a component's files failed."""

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        super().__init__(f"could not install {what}: {detail}")


class ComponentFailed(StackError):
    """A component exited early or did not become ready in time."""

    def __init__(self, component: str, reason: str, log_path: Path, log_tail: str) -> None:
        self.component = component
        self.reason = reason
        self.log_path = log_path
        self.log_tail = log_tail
        super().__init__(
            f"{component} {reason}; last lines of {log_path}:\n{log_tail}"
            if log_tail
            else f"{component} {reason}; its log {log_path} is empty"
        )
