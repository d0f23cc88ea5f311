"""``eventyard-schema-registry``: connect, create the tables, serve with uvicorn."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Final

import structlog
import typer
import uvicorn

from eventyard_schema_registry.bootstrap import bootstrap
from eventyard_schema_registry.domain.errors import StoreError
from eventyard_schema_registry.entrypoints.app import create_app
from eventyard_schema_registry.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, help=__doc__)

_LEVELS: Final = {"critical": 50, "error": 40, "warning": 30, "info": 20, "debug": 10}


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (0: any free port)")] = None,
    dsn: Annotated[
        str | None, typer.Option(help="PostgreSQL URL or libpq DSN", show_default=False)
    ] = None,
    db_schema: Annotated[
        str | None, typer.Option(help="PostgreSQL schema that holds the registry's tables")
    ] = None,
) -> None:
    """Serve Confluent's Schema Registry REST API from PostgreSQL.

    Options override EVENTYARD_REGISTRY_* variables (DSN, HOST, PORT, DB_SCHEMA, ...).
    """
    given: dict[str, Any] = {"host": host, "port": port, "dsn": dsn, "db_schema": db_schema}
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    _configure_logging(settings)
    try:
        registry = bootstrap(settings)
    except StoreError as error:
        typer.echo(f"eventyard-schema-registry: {error.message}", err=True)
        raise typer.Exit(2) from None
    try:
        uvicorn.run(
            create_app(settings, registry=registry),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level,
        )
    finally:
        registry.close()


def _configure_logging(settings: Settings) -> None:
    """The registry's own events as JSON lines (or ``console`` text) on stderr, at the level set.

    uvicorn keeps its own lines (``log_level`` is passed to it too).
    """
    rendering: list[Any] = (
        [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
        if settings.log_format == "console"
        else [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *rendering,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[settings.log_level]),
        # The process's own stderr, never a stream a test harness swaps in and closes later.
        logger_factory=structlog.PrintLoggerFactory(file=sys.__stderr__),
    )


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
