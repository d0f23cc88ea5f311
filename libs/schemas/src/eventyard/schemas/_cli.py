"""The ``eventyard-schemas`` command: ``check`` for CI, ``register`` for registries.

Exit codes: 0 compatible (or registered), 1 incompatible, 2 usage error or invalid schema,
3 the registry could not be reached (retryable).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from eventyard.schemas._compatibility import check_compatibility
from eventyard.schemas._config import load_level_config
from eventyard.schemas._exceptions import (
    ConfigError,
    HistoryError,
    RegistryRejected,
    RegistryUnavailable,
    SchemaParseError,
)
from eventyard.schemas._git import GitHistory, find_repo_root
from eventyard.schemas._levels import CompatibilityLevel
from eventyard.schemas._parsing import parse_schema
from eventyard.schemas._registry import RegistryClient
from eventyard.schemas._report import (
    OutputFormat,
    render_github,
    render_json,
    render_junit,
    render_text,
)
from eventyard.schemas._workflow import CheckReport, SubjectFile, discover_subjects, run_check

__all__ = ["app", "create_app", "main"]

EXIT_OK, EXIT_INCOMPATIBLE, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3

SubjectsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Subjects to handle (folder names under --schemas-dir); default: all."),
]
SchemasDirOption = Annotated[
    Path,
    typer.Option("--schemas-dir", help="Folder with one <subject>/schema.avsc per subject."),
]
LevelOption = Annotated[
    str | None,
    typer.Option("--level", help="Override every subject's level (e.g. FULL_TRANSITIVE)."),
]


@dataclass(frozen=True, slots=True)
class _GitSource:
    history: GitHistory

    @property
    def description(self) -> str:
        return f"git {self.history.ref}"

    def previous(self, subject: SubjectFile) -> list[str]:
        return self.history.versions(subject.path)


@dataclass(frozen=True, slots=True)
class _RegistrySource:
    client: RegistryClient
    url: str

    @property
    def description(self) -> str:
        return f"registry {self.url}"

    def previous(self, subject: SubjectFile) -> list[str]:
        return [v.schema for v in self.client.history(subject.subject) if v.schema_type == "AVRO"]


def _fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _display_root(schemas_dir: Path) -> Path | None:
    try:
        return find_repo_root(schemas_dir)
    except HistoryError:
        return None


def create_app(
    *, registry_factory: Callable[[str], RegistryClient] = RegistryClient
) -> typer.Typer:
    """The command line app; tests pass a factory that builds clients on a fake transport."""
    app = typer.Typer(
        name="eventyard-schemas",
        help="Avro schema compatibility checks with Confluent semantics, for CI and registries.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    _add_check(app, registry_factory)
    _add_register(app, registry_factory)
    return app


def _add_check(app: typer.Typer, registry_factory: Callable[[str], RegistryClient]) -> None:
    """Register ``check``: compare schemas with their git history or a registry's versions."""

    @app.command()
    def check(
        *,
        subjects: SubjectsArg = None,
        schemas_dir: SchemasDirOption = Path("schemas"),
        against_git: Annotated[
            str | None,
            typer.Option(
                "--against-git",
                metavar="REF",
                help="Compare with the file's history reachable from REF "
                "[default: origin/main, else main].",
            ),
        ] = None,
        against_registry: Annotated[
            str | None,
            typer.Option(
                "--against-registry",
                metavar="URL",
                help="Compare with the subject's versions in a Confluent-compatible registry.",
            ),
        ] = None,
        level: LevelOption = None,
        output: Annotated[
            OutputFormat, typer.Option("--format", help="Output: text, json, junit or github.")
        ] = OutputFormat.TEXT,
    ) -> None:
        """Check each subject's current schema.avsc against its earlier versions."""
        if against_git and against_registry:
            raise _fail("give --against-git or --against-registry, not both")
        with _errors_to_exit_codes():
            levels = load_level_config(schemas_dir)
            override = CompatibilityLevel.parse(level) if level else None
            if against_registry:
                root = _display_root(schemas_dir)
                files = discover_subjects(schemas_dir, subjects or (), display_root=root)
                with registry_factory(against_registry) as client:
                    source = _RegistrySource(client, against_registry)
                    report = run_check(files, source, levels, level_override=override)
            else:
                history = GitHistory.open(schemas_dir.resolve(), against_git)
                files = discover_subjects(schemas_dir, subjects or (), display_root=history.root)
                report = run_check(files, _GitSource(history), levels, level_override=override)
        _print_report(report, output)
        raise typer.Exit(report.exit_code)


def _add_register(app: typer.Typer, registry_factory: Callable[[str], RegistryClient]) -> None:
    """Register ``register``: post each schema to a registry (or say what would happen)."""

    @app.command()
    def register(
        *,
        registry: Annotated[
            str, typer.Option("--registry", metavar="URL", help="The registry's base URL.")
        ],
        subjects: SubjectsArg = None,
        schemas_dir: SchemasDirOption = Path("schemas"),
        dry_run: Annotated[
            bool,
            typer.Option(
                "--dry-run",
                help="Register nothing: say what would happen, checking locally at the level "
                "compatibility.toml gives.",
            ),
        ] = False,
        level: LevelOption = None,
        output: Annotated[
            OutputFormat, typer.Option("--format", help="Output: text or json.")
        ] = OutputFormat.TEXT,
    ) -> None:
        """Register each subject's schema.avsc as a new version (POST /subjects/{s}/versions)."""
        with _errors_to_exit_codes():
            levels = load_level_config(schemas_dir)
            override = CompatibilityLevel.parse(level) if level else None
            root = _display_root(schemas_dir)
            files = discover_subjects(schemas_dir, subjects or (), display_root=root)
            with registry_factory(registry) as client:
                rows = [
                    _register_one(client, f, override or levels.level_for(f.subject), dry_run)
                    for f in files
                ]
        _print_registrations(rows, output, dry_run)
        statuses = {row.status for row in rows}
        if "invalid" in statuses:
            raise typer.Exit(EXIT_USAGE)
        raise typer.Exit(EXIT_INCOMPATIBLE if "incompatible" in statuses else EXIT_OK)


@contextlib.contextmanager
def _errors_to_exit_codes() -> Iterator[None]:
    try:
        yield
    except (ConfigError, HistoryError, RegistryRejected) as error:
        raise _fail(str(error)) from None
    except RegistryUnavailable as error:
        raise _fail(f"{error} (retry later)", EXIT_UNAVAILABLE) from None


def _print_report(report: CheckReport, output: OutputFormat) -> None:
    if output is OutputFormat.TEXT:
        render_text(report, Console(highlight=False, soft_wrap=True))
    elif output is OutputFormat.JSON:
        typer.echo(render_json(report))
    elif output is OutputFormat.JUNIT:
        typer.echo(render_junit(report))
    else:
        typer.echo(render_github(report))


@dataclass(frozen=True, kw_only=True, slots=True)
class _Registration:
    subject: str
    file: str
    status: str  # ok | incompatible | invalid
    detail: str
    id: int | None = None


def _print_registrations(rows: list[_Registration], output: OutputFormat, dry_run: bool) -> None:
    if output is OutputFormat.JSON:
        typer.echo(
            json.dumps({"dry_run": dry_run, "subjects": [asdict(r) for r in rows]}, indent=2)
        )
        return
    console = Console(highlight=False, soft_wrap=True)
    for row in rows:
        mark = "[green]✓[/green]" if row.status == "ok" else "[red]✗[/red]"
        console.print(f"{mark} [bold]{escape(row.subject)}[/bold] {escape(row.detail)}")


def _register_one(
    client: RegistryClient, file: SubjectFile, level: CompatibilityLevel, dry_run: bool
) -> _Registration:
    def row(status: str, detail: str, schema_id: int | None = None) -> _Registration:
        return _Registration(
            subject=file.subject, file=file.display, status=status, detail=detail, id=schema_id
        )

    try:
        schema = parse_schema(file.path)
    except SchemaParseError as error:
        return row("invalid", str(error.located(source=Path(file.display))))
    if dry_run:
        existing = client.lookup(file.subject, schema.original)
        if existing is not None:
            detail = f"already registered as version {existing.version} (id {existing.id})"
            return row("ok", detail, existing.id)
        history = [v.schema for v in client.history(file.subject) if v.schema_type == "AVRO"]
        result = check_compatibility(schema, history, level)
        if result.compatible:
            return row("ok", f"would register as version {len(history) + 1} ({level} passed)")
        reasons = "; ".join(str(message) for message in result.messages)
        return row("incompatible", f"would be rejected at {level}: {reasons}")
    try:
        schema_id = client.register(file.subject, schema.original)
    except RegistryRejected as error:
        verdicts = {409: "incompatible", 422: "invalid"}
        if error.status not in verdicts:
            raise
        return row(verdicts[error.status], f"rejected by the registry: {error}")
    return row("ok", f"registered (id {schema_id})", schema_id)


app = create_app()


def main() -> None:
    """Entry point of the ``eventyard-schemas`` script."""
    app()
