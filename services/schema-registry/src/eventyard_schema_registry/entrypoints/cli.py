"""``eventyard-schema-registry``: connect, create the tables, serve with uvicorn."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer
import uvicorn

from eventyard_schema_registry.bootstrap import bootstrap
from eventyard_schema_registry.domain.errors import StoreError
from eventyard_schema_registry.entrypoints.app import create_app
from eventyard_schema_registry.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, help=__doc__)


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
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s:%(name)s: %(message)s"
    )
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


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
