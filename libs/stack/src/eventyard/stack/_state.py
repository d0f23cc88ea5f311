"""The stack's remembered ports, kept in ``<state_dir>/state.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["StackState"]


@dataclass(kw_only=True)
class StackState:
    """Ports each component was given, so a restart keeps its endpoints."""

    path: Path
    ports: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> StackState:
        """Read the state file; a missing or unreadable file means no ports remembered."""
        try:
            raw = json.loads(path.read_text())
            ports = {
                str(component): {str(role): int(port) for role, port in roles.items()}
                for component, roles in raw.get("ports", {}).items()
            }
        except (OSError, ValueError, AttributeError, TypeError):
            ports = {}
        return cls(path=path, ports=ports)

    def save(self) -> None:
        """Write the state file atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"ports": self.ports}, indent=2, sort_keys=True))
        tmp.replace(self.path)
