"""``eventyard-order-history``: ``serve`` (boot in the background, serve HTTP) and ``migrate``."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from eventyard.service import service_cli
from eventyard.telemetry import Telemetry
from eventyard_order_history.bootstrap import MIGRATIONS
from eventyard_order_history.settings import Settings

__all__ = ["app", "main"]


def _app(settings: Settings, telemetry: Telemetry) -> FastAPI:
    from eventyard_order_history.entrypoints.app import create_app  # noqa: PLC0415 - heavy

    return create_app(settings, telemetry)


app = service_cli("order-history", settings=Settings, create_app=_app, migrations=MIGRATIONS)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
