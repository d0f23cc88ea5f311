"""``eventyard-orders``: ``serve`` the API (with the relay and the orchestrator), ``migrate``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from eventyard.service import ConfigurationError, ensure_database, make_engine, migrate, serve
from eventyard.telemetry import configure
from eventyard_orders.bootstrap import MIGRATIONS, bootstrap
from eventyard_orders.entrypoints.app import create_app
from eventyard_orders.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, help=__doc__)


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """Serve the orders API; the outbox relay and the saga orchestrator run beside it.

    Options override EVENTYARD_ORDERS_HOST and EVENTYARD_ORDERS_PORT.
    """
    given: dict[str, Any] = {"host": host, "port": port}
    telemetry = configure(service_name="orders", service_version="0.1.0")  # before the app
    try:
        settings = Settings(**{k: v for k, v in given.items() if v is not None})
        orders = bootstrap(settings, telemetry=telemetry)
    except ConfigurationError as error:
        typer.echo(f"eventyard-orders: {error}", err=True)
        raise typer.Exit(2) from None
    try:
        serve(create_app(orders), settings)
    finally:
        telemetry.shutdown()


@app.command("migrate")
def migrate_command() -> None:
    """Create the database if missing and apply the migrations; then exit."""
    try:
        dsn = Settings().database_dsn()
    except ConfigurationError as error:
        typer.echo(f"eventyard-orders: {error}", err=True)
        raise typer.Exit(2) from None
    ensure_database(dsn)
    engine = make_engine(dsn)
    try:
        migrate(engine, MIGRATIONS)
    finally:
        engine.dispose()


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
