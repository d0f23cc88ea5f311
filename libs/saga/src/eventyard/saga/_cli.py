"""``eventyard-saga``: list, inspect, retry and abort saga instances; create the tables."""

from __future__ import annotations

import json
import re
import sys
import time
from datetime import timedelta
from typing import Annotated, Any

import psycopg
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import sessionmaker

from eventyard.saga._admin import SagaAdmin, SagaFilter
from eventyard.saga._exceptions import SagaError
from eventyard.saga._model import LogEntry, SagaInstance, SagaStatus
from eventyard.saga._schema import SagaTables, saga_ddl

__all__ = ["app", "engine_for", "main", "parse_duration"]

app = typer.Typer(
    help="Operate Eventyard sagas: list, inspect, retry a failed step, abort with compensation.",
    no_args_is_help=True,
    add_completion=False,
)

DsnOption = Annotated[
    str,
    typer.Option(
        "--dsn",
        envvar=["EVENTYARD_SAGA_DSN", "EVENTYARD_PG_DSN"],
        help="PostgreSQL DSN of the orchestrator's database",
    ),
]
SchemaOption = Annotated[
    str, typer.Option("--schema", envvar="EVENTYARD_SAGA_SCHEMA", help="schema of the tables")
]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]

_STATUS_STYLE = {
    SagaStatus.COMPLETED: "green",
    SagaStatus.COMPENSATED: "yellow",
    SagaStatus.COMPENSATION_FAILED: "bold red",
    SagaStatus.FAILED: "bold red",
    SagaStatus.RUNNING: "cyan",
    SagaStatus.COMPENSATING: "magenta",
    SagaStatus.STARTED: "blue",
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``5m``, ``1h30m``, ``2d`` as a timedelta; ValueError names the bad text."""
    cleaned = text.replace(" ", "")
    parts = _DURATION.findall(cleaned)
    if not parts or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration (examples: 90s, 5m, 1h30m, 2d)")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def engine_for(dsn: str) -> sa.Engine:
    """A SQLAlchemy engine (psycopg 3) on a libpq DSN, URL or ``key=value`` form."""
    return sa.create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(dsn), pool_size=1
    )


def _admin(dsn: str, schema: str) -> SagaAdmin:
    return SagaAdmin(sessionmaker(engine_for(dsn)), tables=SagaTables(schema=schema))


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"eventyard-saga: {message}", err=True)
    raise typer.Exit(code)


def _console() -> Console:
    return Console(width=max(Console().width, 160))


def _instance_json(i: SagaInstance) -> dict[str, Any]:
    return {
        "id": str(i.id),
        "type": i.type,
        "definition_version": i.definition_version,
        "status": i.status.value,
        "current_step": i.current_step,
        "phase": None if i.phase is None else i.phase.value,
        "attempt": i.attempt,
        "version": i.version,
        "data": dict(i.data),
        "step_status": dict(i.step_status),
        "wake_at": None if i.wake_at is None else i.wake_at.isoformat(),
        "reason": i.reason,
        "trace_id": i.trace_id,
        "pending_request": i.pending_request,
        "created_at": i.created_at.isoformat(),
        "updated_at": i.updated_at.isoformat(),
        "finished_at": None if i.finished_at is None else i.finished_at.isoformat(),
    }


def _entry_json(e: LogEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": None if e.at is None else e.at.isoformat(),
        "step": e.step,
        "phase": None if e.phase is None else e.phase.value,
        "attempt": e.attempt,
        "command": e.command,
        "outcome": e.outcome.value,
        "reply": e.reply,
        "detail": e.detail,
        "trace_id": e.trace_id,
    }


def _styled(status: SagaStatus) -> str:
    style = _STATUS_STYLE.get(status, "")
    return f"[{style}]{status.value}[/]" if style else status.value


def _guard(action: Any) -> Any:
    try:
        return action()
    except SagaError as error:
        _fail(str(error))
    except (sa_exc.OperationalError, sa_exc.InterfaceError, psycopg.OperationalError) as error:
        _fail(f"cannot reach PostgreSQL: {error}".splitlines()[0], code=2)
    except sa_exc.ProgrammingError as error:
        _fail(
            f"{str(error.orig).splitlines()[0]}; create the tables with `eventyard-saga migrate`",
            code=2,
        )
    return None


@app.command("list")
def list_(
    *,
    dsn: DsnOption,
    schema: SchemaOption = "public",
    status: Annotated[
        list[SagaStatus] | None, typer.Option("--status", "-s", help="repeat for several")
    ] = None,
    saga_type: Annotated[str | None, typer.Option("--type", "-t", help="saga name")] = None,
    version: Annotated[int | None, typer.Option(help="definition version")] = None,
    step: Annotated[str | None, typer.Option(help="current step")] = None,
    idle_for: Annotated[
        str | None, typer.Option(help="not changed for at least this long (e.g. 5m)")
    ] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List saga instances, newest first, with filters."""
    idle = None
    if idle_for is not None:
        try:
            idle = parse_duration(idle_for)
        except ValueError as error:
            _fail(str(error), code=2)
    where = SagaFilter(
        statuses=tuple(status or ()),
        saga_type=saga_type,
        version=version,
        step=step,
        idle_for=idle,
        limit=limit,
    )
    found: list[SagaInstance] = _guard(lambda: _admin(dsn, schema).list(where))
    if as_json:
        typer.echo(json.dumps([_instance_json(i) for i in found], indent=2))
        return
    table = Table(title=f"sagas ({len(found)})")
    table.add_column("id", no_wrap=True, min_width=36)
    for column in ("type", "status", "step", "attempt", "updated", "reason"):
        table.add_column(column, overflow="fold")
    for i in found:
        step_text = "" if i.current_step is None else f"{i.current_step} ({i.phase})"
        table.add_row(
            str(i.id),
            f"{i.type} v{i.definition_version}",
            _styled(i.status)
            + (f" [dim](requested: {i.pending_request})[/]" if i.pending_request else ""),
            step_text,
            str(i.attempt or ""),
            i.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            i.reason or "",
        )
    _console().print(table)


@app.command()
def summary(
    *, dsn: DsnOption, schema: SchemaOption = "public", as_json: JsonOption = False
) -> None:
    """Count instances by type, version and status."""
    counts = _guard(lambda: _admin(dsn, schema).summary())
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "type": c.saga_type,
                        "version": c.version,
                        "status": c.status.value,
                        "count": c.count,
                    }
                    for c in counts
                ],
                indent=2,
            )
        )
        return
    table = Table(title="sagas by status")
    for column in ("type", "version", "status", "count"):
        table.add_column(column)
    for c in counts:
        table.add_row(c.saga_type, str(c.version), _styled(c.status), str(c.count))
    _console().print(table)


@app.command()
def inspect(
    saga_id: Annotated[str, typer.Argument(help="the saga id (a unique prefix will do)")],
    *,
    dsn: DsnOption,
    schema: SchemaOption = "public",
    as_json: JsonOption = False,
) -> None:
    """Show one saga: its state, data and step log."""
    admin = _admin(dsn, schema)
    instance: SagaInstance = _guard(lambda: admin.get(saga_id))
    entries: list[LogEntry] = _guard(lambda: admin.log(instance.id))
    if as_json:
        document = _instance_json(instance) | {"log": [_entry_json(e) for e in entries]}
        typer.echo(json.dumps(document, indent=2))
        return
    console = _console()
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("saga", f"{instance.id}  {instance.type} v{instance.definition_version}")
    head.add_row("status", _styled(instance.status))
    if instance.current_step:
        head.add_row(
            "step", f"{instance.current_step} ({instance.phase}), attempt {instance.attempt}"
        )
    if instance.reason:
        head.add_row("reason", instance.reason)
    if instance.pending_request:
        head.add_row("request", f"{instance.pending_request} (waiting for an orchestrator)")
    head.add_row("version", str(instance.version))
    head.add_row("timer", instance.wake_at.isoformat() if instance.wake_at else "-")
    head.add_row("trace", instance.trace_id or "-")
    head.add_row("data", json.dumps(dict(instance.data)))
    head.add_row("steps", ", ".join(f"{k}: {v}" for k, v in instance.step_status.items()) or "-")
    console.print(head)
    table = Table(title="step log")
    for column in ("#", "at", "step", "phase", "try", "command", "outcome", "detail"):
        table.add_column(column, overflow="fold")
    for e in entries:
        detail = e.detail or ""
        if e.reply is not None and e.outcome.value == "IGNORED":
            detail = f"{detail} (reply {e.reply.get('outcome')} attempt {e.reply.get('attempt')})"
        table.add_row(
            str(e.seq),
            e.at.strftime("%H:%M:%S.%f")[:-3] if e.at else "",
            e.step or "",
            "" if e.phase is None else e.phase.value,
            "" if e.attempt is None else str(e.attempt),
            e.command or "",
            e.outcome.value,
            detail,
        )
    console.print(table)


def _wait_for(admin: SagaAdmin, saga_id: str, timeout: float) -> SagaInstance:
    deadline = time.monotonic() + timeout
    instance = admin.get(saga_id)
    while instance.pending_request is not None and time.monotonic() < deadline:
        time.sleep(0.2)
        instance = admin.get(saga_id)
    return instance


@app.command()
def retry(
    saga_id: Annotated[str, typer.Argument(help="the saga id (a unique prefix will do)")],
    *,
    dsn: DsnOption,
    schema: SchemaOption = "public",
    expect_version: Annotated[
        int | None, typer.Option(help="refuse unless the saga is still at this version")
    ] = None,
    wait: Annotated[
        float, typer.Option(help="seconds to wait for an orchestrator to carry it out (0: do not)")
    ] = 0.0,
) -> None:
    """Retry the failed step now, with a fresh attempt budget (a compensation of a
    COMPENSATION_FAILED saga, the action of a FAILED one)."""
    admin = _admin(dsn, schema)
    instance: SagaInstance = _guard(lambda: admin.retry(saga_id, expect_version=expect_version))
    typer.echo(f"retry requested for saga {instance.id} ({instance.status.value})")
    if wait > 0:
        done = _guard(lambda: _wait_for(admin, str(instance.id), wait))
        typer.echo(
            f"saga {done.id} is {done.status.value}"
            + (
                " (request not picked up yet: is an orchestrator running?)"
                if done.pending_request
                else ""
            )
        )


@app.command()
def abort(
    saga_id: Annotated[str, typer.Argument(help="the saga id (a unique prefix will do)")],
    *,
    dsn: DsnOption,
    schema: SchemaOption = "public",
    reason: Annotated[str, typer.Option(help="why (kept in the log)")] = "aborted by an operator",
    expect_version: Annotated[
        int | None, typer.Option(help="refuse unless the saga is still at this version")
    ] = None,
    wait: Annotated[
        float, typer.Option(help="seconds to wait for an orchestrator to carry it out (0: do not)")
    ] = 0.0,
) -> None:
    """Abort a saga: compensate its completed steps in reverse order (before the pivot only)."""
    admin = _admin(dsn, schema)
    instance: SagaInstance = _guard(
        lambda: admin.abort(saga_id, reason=reason, expect_version=expect_version)
    )
    typer.echo(f"abort requested for saga {instance.id} ({instance.status.value})")
    if wait > 0:
        done = _guard(lambda: _wait_for(admin, str(instance.id), wait))
        typer.echo(
            f"saga {done.id} is {done.status.value}"
            + (
                " (request not picked up yet: is an orchestrator running?)"
                if done.pending_request
                else ""
            )
        )


@app.command()
def migrate(
    *,
    dsn: DsnOption,
    schema: SchemaOption = "public",
    participant: Annotated[
        bool, typer.Option(help="also the participant's table (for a participant's database)")
    ] = False,
    orchestrator: Annotated[bool, typer.Option(help="the orchestrator's tables")] = True,
) -> None:
    """Create the saga tables (idempotent). The outbox and inbox: `eventyard-outbox migrate`."""
    statements = saga_ddl(
        SagaTables(schema=schema), orchestrator=orchestrator, participant=participant
    )

    def run() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement.encode())

    _guard(run)
    typer.echo(f"saga tables ready in schema {schema}")


def main() -> None:
    """The ``eventyard-saga`` entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.exit(130)
