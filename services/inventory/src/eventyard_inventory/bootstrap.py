"""Wiring in one place: settings -> runtime (database, migrations) -> relay and participant."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from eventyard.service import Runtime, participant_runtime
from eventyard.telemetry import Telemetry
from eventyard_inventory.entrypoints.commands import participant
from eventyard_inventory.settings import Settings

__all__ = ["MIGRATIONS", "NAME", "bootstrap"]

NAME: Final = "inventory"
MIGRATIONS: Final = Path(__file__).parent / "adapters" / "migrations"


def bootstrap(settings: Settings, *, telemetry: Telemetry | None = None) -> Runtime:
    """The service's runtime; nothing connects until it starts."""
    return participant_runtime(
        name=NAME,
        settings=settings,
        migrations=MIGRATIONS,
        participant=participant,
        telemetry=telemetry,
    )
