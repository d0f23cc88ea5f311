"""``eventyard-customers``: serve the customers service, or only migrate its database."""

from __future__ import annotations

import sys

from eventyard.service import service_cli
from eventyard_customers.bootstrap import MIGRATIONS, NAME
from eventyard_customers.entrypoints.app import create_app
from eventyard_customers.settings import Settings

__all__ = ["app", "main"]

app = service_cli(NAME, settings=Settings, create_app=create_app, migrations=MIGRATIONS)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
