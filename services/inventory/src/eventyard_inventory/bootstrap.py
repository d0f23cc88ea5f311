"""Wiring in one place: settings -> runtime (database, migrations) -> relay and participant."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from eventyard.outbox import Outbox
from eventyard.service import Runtime, Worker, participant_worker, relay_worker, topic_router
from eventyard.telemetry import Telemetry
from eventyard_inventory.entrypoints.commands import participant
from eventyard_inventory.settings import Settings

__all__ = ["MIGRATIONS", "NAME", "bootstrap"]

NAME: Final = "inventory"
MIGRATIONS: Final = Path(__file__).parent / "adapters" / "migrations"


def bootstrap(settings: Settings, *, telemetry: Telemetry | None = None) -> Runtime:
    """The service's runtime; nothing connects until it starts."""
    prefix = settings.topic_prefix
    return Runtime(
        name=NAME,
        settings=settings,
        migrations=MIGRATIONS,
        workers=_workers,
        topics=[f"{prefix}.{NAME}.commands", f"{prefix}.saga.replies"],
        telemetry=telemetry,
    )


def _workers(runtime: Runtime) -> list[Worker]:
    router = topic_router(runtime)
    return [
        relay_worker(runtime, router=router),
        participant_worker(runtime, participant(Outbox(router=router))),
    ]
