"""Wiring: settings -> runtime, outbox, order saga, orchestrator, use cases, in one place.

Nothing connects here: the runtime boots (database, migrations, Kafka) when the app starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from eventyard.kafka import Retry
from eventyard.outbox import InboxConfig, Outbox
from eventyard.saga import Orchestrator, OrchestratorConfig, SagaAdmin
from eventyard.service import (
    ConfigError,
    Runtime,
    Worker,
    consumer_config,
    relay_worker,
    topic_router,
)
from eventyard.telemetry import Telemetry
from eventyard_orders.adapters.outbox import make_outbox
from eventyard_orders.adapters.repository import SqlOrders
from eventyard_orders.adapters.saga_log import SqlSagaLog
from eventyard_orders.adapters.tables import INBOX, OUTBOX, SAGA
from eventyard_orders.service_layer.orders import OrderService
from eventyard_orders.service_layer.saga import order_saga
from eventyard_orders.settings import Settings

__all__ = ["MIGRATIONS", "Orders", "bootstrap"]

#: The Alembic folder (``env.py``, ``versions/``).
MIGRATIONS: Final = Path(__file__).parent / "adapters" / "migrations"

#: The topics (after the prefix) the service consumes or produces: the saga's replies, its
#: commands to both participants, and the order events.
TOPICS: Final = ("saga.replies", "customers.commands", "inventory.commands", "orders.events")


@dataclass(frozen=True, kw_only=True)
class Orders:
    """The wired service: its runtime (boot, workers, health), outbox, orchestrator, use cases."""

    settings: Settings
    runtime: Runtime
    outbox: Outbox
    orchestrator: Orchestrator
    service: OrderService


def bootstrap(settings: Settings | None = None, *, telemetry: Telemetry | None = None) -> Orders:
    """The service for ``settings`` (default: from the environment).

    Raises :class:`ConfigError` naming the variable when a setting is missing.
    """
    settings = settings or Settings()
    if not settings.registry_url:
        raise ConfigError("no schema registry: set EVENTYARD_REGISTRY_URL")

    def workers(runtime: Runtime) -> list[Worker]:
        # Called once booted, when ``orchestrator`` (below) exists.
        kafka = consumer_config(runtime, f"{settings.topic_prefix}.orders.saga")
        # A short poll: a batch is handed over when full or after 50 ms, not the default 0.5 s.
        replies = InboxConfig(
            name="saga:replies",
            topics=(orchestrator.reply_topic,),
            table=INBOX,
            poll_timeout=0.05,
            retry=Retry(attempts=5, wait_initial=0.05, wait_max=10.0, wait_jitter=0.0),
            batch_size=200,
        )
        return [
            relay_worker(runtime, table=OUTBOX),
            Worker(
                name="orchestrator",
                run=lambda: orchestrator.run(kafka, inbox=replies),
                stop=orchestrator.stop,
            ),
        ]

    prefix = settings.topic_prefix
    runtime = Runtime(
        name="orders",
        settings=settings,
        migrations=MIGRATIONS,
        workers=workers,
        # the saga's replies, its commands to both participants, and the order events
        topics=[f"{prefix}.{channel}" for channel in TOPICS],
        telemetry=telemetry,
    )

    def sessions() -> Session:
        return runtime.sessions()

    outbox = make_outbox(registry_url=settings.registry_url, router=topic_router(runtime))
    orders = SqlOrders()
    saga = order_saga(
        orders=orders, outbox=outbox, saga_log=SqlSagaLog(), timing=settings.saga_timing()
    )
    orchestrator = Orchestrator(
        definitions=[saga],
        sessions=sessions,
        outbox=outbox,
        config=OrchestratorConfig(tables=SAGA, inbox_table=INBOX),
    )
    service = OrderService(
        sessions=sessions,
        orders=orders,
        orchestrator=orchestrator,
        saga=saga,
        admin=SagaAdmin(sessions, tables=SAGA),
    )
    return Orders(
        settings=settings,
        runtime=runtime,
        outbox=outbox,
        orchestrator=orchestrator,
        service=service,
    )
