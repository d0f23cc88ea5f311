"""Per-subject compatibility levels from ``schemas/compatibility.toml``.

::

    [global]
    level = "BACKWARD"                 # Confluent's default when the file or key is absent

    [subjects."orders.order-created"]
    level = "FULL_TRANSITIVE"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventyard.schemas._exceptions import ConfigError
from eventyard.schemas._levels import CompatibilityLevel

__all__ = ["CONFIG_FILE", "LevelConfig", "load_level_config"]

CONFIG_FILE = "compatibility.toml"


@dataclass(frozen=True, kw_only=True, slots=True)
class LevelConfig:
    """The global level and per-subject overrides."""

    default: CompatibilityLevel = CompatibilityLevel.BACKWARD
    subjects: Mapping[str, CompatibilityLevel] = field(default_factory=dict)

    def level_for(self, subject: str) -> CompatibilityLevel:
        """The level that applies to ``subject``."""
        return self.subjects.get(subject, self.default)


def _level(value: Any, where: str) -> CompatibilityLevel:
    if not isinstance(value, str):
        raise ConfigError(f'{where}: level must be a string such as "BACKWARD", not {value!r}')
    try:
        return CompatibilityLevel.parse(value)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def parse_level_config(document: Mapping[str, Any], where: str) -> LevelConfig:
    """Validate a parsed ``compatibility.toml``; ``where`` names it in errors."""
    unknown = set(document) - {"global", "subjects"}
    if unknown:
        raise ConfigError(
            f"{where}: unknown table(s) {sorted(unknown)}; expected [global], [subjects.*]"
        )
    default = CompatibilityLevel.BACKWARD
    table = document.get("global", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: [global] must be a table")
    if "level" in table:
        default = _level(table["level"], f"{where} [global]")
    subjects: dict[str, CompatibilityLevel] = {}
    tables = document.get("subjects", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(f"{where}: [subjects] must hold one table per subject")
    for subject, entry in tables.items():
        if not isinstance(entry, Mapping) or "level" not in entry:
            raise ConfigError(f'{where} [subjects."{subject}"]: needs level = "..."')
        subjects[subject] = _level(entry["level"], f'{where} [subjects."{subject}"]')
    return LevelConfig(default=default, subjects=subjects)


def load_level_config(schemas_dir: Path) -> LevelConfig:
    """Read ``compatibility.toml`` in ``schemas_dir``; Confluent's default BACKWARD if absent."""
    path = schemas_dir / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LevelConfig()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return parse_level_config(document, str(path))
