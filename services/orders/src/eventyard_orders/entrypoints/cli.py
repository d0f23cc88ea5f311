"""``eventyard-orders``: ``serve`` the API (with the relay and the orchestrator), ``migrate``."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from eventyard.service import service_cli
from eventyard.telemetry import Telemetry
from eventyard_orders.bootstrap import MIGRATIONS, bootstrap
from eventyard_orders.entrypoints.app import create_app
from eventyard_orders.settings import Settings

__all__ = ["app", "main"]


def _app(settings: Settings, telemetry: Telemetry) -> FastAPI:
    return create_app(bootstrap(settings, telemetry=telemetry))


app = service_cli("orders", settings=Settings, create_app=_app, migrations=MIGRATIONS)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
