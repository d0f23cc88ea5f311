"""The ``check`` workflow: each subject's current file against its history, at its level.

I/O stays outside: subjects are found on disk by :func:`discover_subjects`, earlier versions
come through the :class:`History` interface (git or a registry), and the result is a plain
:class:`CheckReport` that the report module renders.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from eventyard.schemas._compatibility import check_compatibility
from eventyard.schemas._config import LevelConfig
from eventyard.schemas._exceptions import ConfigError, SchemaParseError
from eventyard.schemas._levels import CompatibilityLevel
from eventyard.schemas._parsing import Schema, parse_schema
from eventyard.schemas._results import Incompatibility

__all__ = [
    "SCHEMA_FILE",
    "CheckReport",
    "History",
    "Status",
    "SubjectFile",
    "SubjectOutcome",
    "discover_subjects",
    "run_check",
]

SCHEMA_FILE = "schema.avsc"


@dataclass(frozen=True, kw_only=True, slots=True)
class SubjectFile:
    """A subject's current schema file: ``schemas/<subject>/schema.avsc``."""

    subject: str
    path: Path
    display: str


class History(Protocol):
    """Where earlier versions of a subject come from."""

    @property
    def description(self) -> str:
        """Names the source in reports, e.g. ``git origin/main``."""
        ...

    def previous(self, subject: SubjectFile) -> list[str]:
        """The subject's earlier schema texts, oldest first."""
        ...


class Status(enum.StrEnum):
    COMPATIBLE = "compatible"
    INCOMPATIBLE = "incompatible"
    INVALID = "invalid"
    NEW = "new"


@dataclass(frozen=True, kw_only=True, slots=True)
class SubjectOutcome:
    """The verdict for one subject."""

    subject: str
    file: str
    level: CompatibilityLevel
    status: Status
    versions: int = 0
    messages: tuple[Incompatibility, ...] = ()
    error: str | None = None
    error_line: int | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class CheckReport:
    """Every subject's outcome; ``exit_code`` is 2 if any is invalid, else 1 if any breaks."""

    against: str
    outcomes: tuple[SubjectOutcome, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        statuses = {outcome.status for outcome in self.outcomes}
        if Status.INVALID in statuses:
            return 2
        return 1 if Status.INCOMPATIBLE in statuses else 0


def discover_subjects(
    schemas_dir: Path, names: Sequence[str] = (), *, display_root: Path | None = None
) -> list[SubjectFile]:
    """The subjects under ``schemas_dir`` (each a folder with ``schema.avsc``), by name."""
    if not schemas_dir.is_dir():
        raise ConfigError(f"schemas folder not found: {schemas_dir}")
    found: dict[str, SubjectFile] = {}
    for folder in sorted(schemas_dir.iterdir()):
        path = folder / SCHEMA_FILE
        if folder.is_dir() and path.is_file():
            found[folder.name] = SubjectFile(
                subject=folder.name, path=path, display=_display(path, display_root)
            )
    missing = [name for name in names if name not in found]
    if missing:
        raise ConfigError(
            f"no {SCHEMA_FILE} for subject(s) {', '.join(missing)} under {schemas_dir}"
        )
    return [found[name] for name in names] if names else list(found.values())


def _display(path: Path, root: Path | None) -> str:
    base = (root or Path.cwd()).resolve()
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def run_check(
    subjects: Iterable[SubjectFile],
    history: History,
    levels: LevelConfig,
    *,
    level_override: CompatibilityLevel | None = None,
) -> CheckReport:
    """Check every subject; a broken current file is reported, never raised."""
    outcomes = [
        _check_one(subject, history, level_override or levels.level_for(subject.subject))
        for subject in subjects
    ]
    return CheckReport(against=history.description, outcomes=tuple(outcomes))


def _check_one(subject: SubjectFile, history: History, level: CompatibilityLevel) -> SubjectOutcome:
    name, file = subject.subject, subject.display
    try:
        current = parse_schema(subject.path)
    except SchemaParseError as error:
        shown = str(error.located(source=Path(file)))
        return SubjectOutcome(
            subject=name,
            file=file,
            level=level,
            status=Status.INVALID,
            error=shown,
            error_line=error.line,
        )
    earlier: list[Schema] = []
    warnings: list[str] = []
    for number, text in enumerate(history.previous(subject), start=1):
        try:
            earlier.append(parse_schema(text))
        except SchemaParseError as error:
            warnings.append(
                f"version {number} from {history.description} is not valid Avro and was "
                f"skipped: {error.problem}"
            )
    if not earlier:
        return SubjectOutcome(
            subject=name, file=file, level=level, status=Status.NEW, warnings=tuple(warnings)
        )
    result = check_compatibility(current, earlier, level)
    return SubjectOutcome(
        subject=name,
        file=file,
        level=level,
        status=Status.COMPATIBLE if result.compatible else Status.INCOMPATIBLE,
        versions=len(earlier),
        messages=result.messages,
        warnings=tuple(warnings),
    )
