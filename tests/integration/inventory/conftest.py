"""A migrated inventory database, sessions on it, and the real participant."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from eventyard.outbox import Outbox, TopicRouter
from eventyard.saga import CommandEnvelope, Participant, Phase
from eventyard.service import make_engine, migrate_database
from eventyard_inventory.bootstrap import MIGRATIONS
from eventyard_inventory.entrypoints.commands import participant
from eventyard_inventory.settings import Settings

Command = Callable[..., CommandEnvelope]


@pytest.fixture
def inventory_dsn(pg_database: str) -> str:
    """A fresh database at the latest revision (the service's own ``migrate``)."""
    migrate_database(Settings(dsn=pg_database), MIGRATIONS)
    return pg_database


@pytest.fixture
def sessions(inventory_dsn: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(inventory_dsn, pool_size=2)
    yield sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def inventory() -> Participant:
    return participant(Outbox(router=TopicRouter(template="test.{aggregatetype}")))


@pytest.fixture
def command() -> Command:
    """An inventory command of one saga, as the order saga sends it."""

    def make(
        name: str,
        *,
        saga_id: uuid.UUID,
        step: str = "reserve_stock",
        attempt: int = 1,
        **payload: Any,
    ) -> CommandEnvelope:
        return CommandEnvelope(
            saga_id=saga_id,
            saga_type="order",
            saga_version=1,
            step=step,
            phase=Phase.COMPENSATION if name == "ReleaseStock" else Phase.ACTION,
            attempt=attempt,
            name=name,
            payload={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in payload.items()},
            reply_to="saga.replies",
        )

    return make
