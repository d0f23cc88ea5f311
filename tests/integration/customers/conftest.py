"""A migrated customers database, sessions on it, and the real participant."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from eventyard.outbox import Outbox, TopicRouter
from eventyard.saga import CommandEnvelope, Participant, Phase
from eventyard.service import make_engine, migrate_database
from eventyard_customers.bootstrap import MIGRATIONS
from eventyard_customers.entrypoints.commands import participant
from eventyard_customers.settings import Settings

Command = Callable[..., CommandEnvelope]


@pytest.fixture
def customers_dsn(pg_database: str) -> str:
    """A fresh database at the latest revision (the service's own ``migrate``)."""
    migrate_database(Settings(dsn=pg_database), MIGRATIONS)
    return pg_database


@pytest.fixture
def sessions(customers_dsn: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(customers_dsn, pool_size=2)
    yield sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def customers() -> Participant:
    return participant(Outbox(router=TopicRouter(template="test.{aggregatetype}")))


@pytest.fixture
def command() -> Command:
    """A credit command of one saga, as the order saga sends it."""

    def make(
        name: str,
        *,
        saga_id: uuid.UUID,
        attempt: int = 1,
        **payload: Any,
    ) -> CommandEnvelope:
        return CommandEnvelope(
            saga_id=saga_id,
            saga_type="order",
            saga_version=1,
            step="reserve_credit",
            phase=Phase.COMPENSATION if name == "ReleaseCredit" else Phase.ACTION,
            attempt=attempt,
            name=name,
            payload={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in payload.items()},
            reply_to="saga.replies",
        )

    return make
