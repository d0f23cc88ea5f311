"""The command line every service has: ``serve`` (the API with its workers) and ``migrate``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from fastapi import FastAPI
from pydantic import ValidationError

from eventyard.service._database import ensure_database, make_engine, migrate
from eventyard.service._errors import ConfigError
from eventyard.service._http import serve
from eventyard.service._settings import ServiceSettings
from eventyard.telemetry import Telemetry, configure

__all__ = ["migrate_database", "service_cli"]

S = TypeVar("S", bound=ServiceSettings)


def migrate_database(settings: ServiceSettings, migrations: Path) -> None:
    """Create the service's database when missing and bring it to the latest revision."""
    dsn = settings.database_dsn()
    ensure_database(dsn, connect_timeout_s=settings.connect_timeout_s)
    engine = make_engine(dsn, pool_size=1, connect_timeout_s=settings.connect_timeout_s)
    try:
        migrate(engine, migrations)
    finally:
        engine.dispose()


def service_cli(
    name: str,
    *,
    settings: type[S],
    create_app: Callable[[S, Telemetry], FastAPI],
    migrations: Path | None,
    version: str = "0.1.0",
) -> typer.Typer:
    """``eventyard-<name>``: ``serve`` and ``migrate``; a wrong setting is one line, exit 2.

    ``create_app`` gets the settings and the configured telemetry (set up before the app, so
    the app's requests and the runtime's engine are instrumented).
    """
    app = typer.Typer(
        add_completion=False,
        no_args_is_help=True,
        help=f"eventyard-{name}: serve the {name} service, or only migrate its database.",
    )

    def stop(error: Exception) -> NoReturn:
        typer.echo(f"eventyard-{name}: {_one_line(error)}", err=True)
        raise typer.Exit(2)

    @app.command("serve")
    def serve_command(
        host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
        port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
    ) -> None:
        """Serve the HTTP API with the service's workers until SIGTERM, then drain and exit."""
        given: dict[str, Any] = {"host": host, "port": port}
        telemetry = configure(service_name=name, service_version=version)
        try:
            chosen = settings(**{k: v for k, v in given.items() if v is not None})
            application = create_app(chosen, telemetry)
        except (ConfigError, ValidationError) as error:
            stop(error)
        try:
            serve(application, chosen)
        finally:
            telemetry.shutdown()

    @app.command("migrate")
    def migrate_command() -> None:
        """Create the database if missing and apply its migrations, then exit."""
        if migrations is None:
            return
        try:
            migrate_database(settings(), migrations)
        except (ConfigError, ValidationError) as error:
            stop(error)

    return app


def _one_line(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
    return str(error)
