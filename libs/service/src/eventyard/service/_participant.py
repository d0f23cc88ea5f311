"""A saga participant service's runtime in one call: its outbox relay and command consumer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from eventyard.outbox import Outbox
from eventyard.saga import Participant
from eventyard.service._kafka import participant_worker, relay_worker, topic_router
from eventyard.service._runtime import Runtime, Worker
from eventyard.service._settings import ServiceSettings
from eventyard.telemetry import Telemetry

__all__ = ["participant_runtime"]


def participant_runtime(
    *,
    name: str,
    settings: ServiceSettings,
    migrations: Path | None,
    participant: Callable[[Outbox], Participant],
    telemetry: Telemetry | None = None,
) -> Runtime:
    """The runtime of the saga participant ``name``; nothing connects until it starts.

    Once booted it runs two workers: the outbox relay and the command consumer of the
    participant that ``participant(outbox)`` builds (``outbox`` publishes its replies, routed
    ``<prefix>.{aggregatetype}``). Boot creates the command topic ``<prefix>.<name>.commands``
    and the reply topic ``<prefix>.saga.replies`` when they are missing.
    """

    def workers(runtime: Runtime) -> list[Worker]:
        router = topic_router(runtime)
        return [
            relay_worker(runtime, router=router),
            participant_worker(runtime, participant(Outbox(router=router))),
        ]

    prefix = settings.topic_prefix
    return Runtime(
        name=name,
        settings=settings,
        migrations=migrations,
        workers=workers,
        topics=[f"{prefix}.{name}.commands", f"{prefix}.saga.replies"],
        telemetry=telemetry,
    )
