"""``eventyard-stack``: the real local stack from the command line."""

from __future__ import annotations

import shlex
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from eventyard.stack._demo import run_demo
from eventyard.stack._endpoints import Endpoints
from eventyard.stack._errors import StackError
from eventyard.stack._runner import ComponentStatus, Stack
from eventyard.stack._shop_demo import run_shop_demo
from eventyard.stack._traces import is_trace_id, order_trace_id, wait_for_trace, waterfall

__all__ = ["app", "main"]

app = typer.Typer(
    help=(
        "Start, inspect and stop Eventyard's local stack: PostgreSQL, Kafka, Kafka Connect, "
        "Jaeger, the schema registry and the shop's services."
    ),
    no_args_is_help=True,
    add_completion=False,
)
_out = Console()
_err = Console(stderr=True, soft_wrap=True)


def _stack() -> Stack:
    return Stack(report=lambda message: _err.print(f"[dim]•[/dim] {message}"))


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _table(rows: list[ComponentStatus]) -> Table:
    table = Table(title="eventyard stack")
    for column in ("component", "state", "pid", "endpoint", "log"):
        table.add_column(column, overflow="fold")
    timed = any(row.started_s is not None for row in rows)
    if timed:
        table.add_column("up in", justify="right")
    for row in rows:
        state = (
            "[green]ready[/green]"
            if row.ready
            else ("[yellow]not ready[/yellow]" if row.pid else "[dim]stopped[/dim]")
        )
        cells = [
            row.name,
            state,
            str(row.pid or "-"),
            "\n".join(row.endpoints.values()) or "-",
            _shown_path(row.log_path),
        ]
        if timed:
            cells.append(f"{row.started_s:.1f} s" if row.started_s is not None else "-")
        table.add_row(*cells)
    return table


def _fail(error: StackError) -> typer.Exit:
    _err.print(f"[bold red]error:[/bold red] {error}", highlight=False)
    return typer.Exit(1)


@app.command()
def up(
    only: Annotated[
        str | None,
        typer.Option(help="Comma-separated components to start (their dependencies come too)."),
    ] = None,
) -> None:
    """Start every component (or only some) and wait until each is ready."""
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    try:
        rows = _stack().up(names)
    except StackError as error:
        raise _fail(error) from error
    _out.print(_table([r for r in rows if names is None or r.pid is not None]))


@app.command()
def down(
    purge: Annotated[bool, typer.Option(help="Also delete all data, logs and pids.")] = False,
) -> None:
    """Stop every component cleanly."""
    try:
        _stack().down(purge=purge)
    except StackError as error:
        raise _fail(error) from error


@app.command()
def status() -> None:
    """Show each component's state, pid and endpoint."""
    _out.print(_table(_stack().status()))


@app.command()
def env() -> None:
    """Print ``export`` lines for every endpoint (use with eval)."""
    for key, value in _stack().endpoints().items():
        typer.echo(f"export {key}={shlex.quote(value)}")


@app.command()
def logs(
    component: Annotated[str | None, typer.Argument(help="One component; all if omitted.")] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines.")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing.")] = False,
) -> None:
    """Print the tail of a component's log."""
    stack = _stack()
    try:
        names = [component] if component else list(stack.components)
        for name in names:
            stack.resolve([name])
            if len(names) > 1:
                _out.rule(name)
            _out.print(stack.log_tail(name, lines), markup=False, highlight=False)
    except StackError as error:
        raise _fail(error) from error
    if follow and component:
        path = stack.components[component].log_path
        with path.open() as handle:
            handle.seek(0, 2)
            while True:
                line = handle.readline()
                if line:
                    typer.echo(line, nl=False)
                else:
                    time.sleep(0.2)


@app.command()
def kill(component: Annotated[str, typer.Argument(help="The component to SIGKILL.")]) -> None:
    """SIGKILL a component, as a crash would (for fault tests)."""
    try:
        if not _stack().kill(component):
            _err.print(f"{component} was not running")
    except StackError as error:
        raise _fail(error) from error


@app.command()
def restart(component: Annotated[str, typer.Argument(help="The component to restart.")]) -> None:
    """Stop a component (if running) and start it again on the same ports."""
    try:
        _stack().restart(component)
    except StackError as error:
        raise _fail(error) from error


@app.command()
def demo(
    cdc: Annotated[
        bool, typer.Option("--cdc", help="Instead: a row travels PostgreSQL -> Debezium -> Kafka.")
    ] = False,
) -> None:
    """Start everything, then run the shop's story: three orders, their outcomes, one trace."""
    try:
        stack = _stack()
        if cdc:
            stack.up(["postgres", "kafka", "connect"])
            code = run_demo(Endpoints.from_mapping(stack.endpoints()), _out)
        else:
            stack.up()
            code = run_shop_demo(Endpoints.from_mapping(stack.endpoints()), _out)
    except StackError as error:
        raise _fail(error) from error
    except httpx.HTTPError as error:
        _err.print(f"[bold red]error:[/bold red] {error}", highlight=False)
        raise typer.Exit(1) from error
    raise typer.Exit(code)


@app.command()
def trace(
    trace_or_order: Annotated[
        str, typer.Argument(metavar="ID", help="A trace id (hex), or an order id (a UUID).")
    ],
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the trace to arrive and settle.")
    ] = 5.0,
    database: Annotated[
        bool, typer.Option("--database/--no-database", help="Show the database client spans.")
    ] = True,
) -> None:
    """Print a trace from Jaeger as a waterfall; an order id is looked up in the orders service."""
    endpoints = Endpoints.from_env().merged(Endpoints.from_mapping(_stack().endpoints()))
    try:
        if not endpoints.traces_url:
            raise StackError("Jaeger is not running: eventyard-stack up --only jaeger")
        trace_id = trace_or_order
        if not is_trace_id(trace_or_order):
            if not endpoints.orders_url:
                raise StackError("the orders service is not running: eventyard-stack up")
            trace_id = order_trace_id(endpoints.orders_url, trace_or_order)
        found = wait_for_trace(endpoints.traces_url, trace_id, wait_s=wait)
    except StackError as error:
        raise _fail(error) from error
    except httpx.HTTPError as error:
        _err.print(f"[bold red]error:[/bold red] {error}", highlight=False)
        raise typer.Exit(1) from error
    _out.print(waterfall(found, width=_out.width, database=database))


def main() -> None:
    """Entry point of the ``eventyard-stack`` command."""
    app()
