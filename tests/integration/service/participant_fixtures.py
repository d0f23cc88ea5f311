"""What the integration tests of the saga participant services (customers, inventory) share.

A service's conftest imports the fixtures and defines ``participant_service``, the
:class:`ParticipantService` they run: a fresh database at its latest revision and sessions on
it (``sessions``), the real participant handling one command per transaction (``handle``), the
service's commands as the order saga sends them (``command``), and the app started and ready
(``client``) on a topic prefix of the test's own (``prefix``), taking commands over Kafka
(``over_kafka``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.orm import Session, sessionmaker

from eventyard.outbox import Outbox, TopicRouter
from eventyard.saga import CommandEnvelope, Participant, Phase, ReplyEnvelope
from eventyard.service import ServiceSettings, make_engine, migrate_database
from tests.support.eventually import eventually

Command = Callable[..., CommandEnvelope]
Handle = Callable[[CommandEnvelope], ReplyEnvelope]
OverKafka = Callable[[CommandEnvelope], Any]


@dataclass(frozen=True, kw_only=True)
class ParticipantService:
    """One participant service as its tests see it."""

    name: str
    settings: type[ServiceSettings]
    migrations: Path
    participant: Callable[[Outbox], Participant]
    create_app: Callable[[Any], FastAPI]
    #: the saga step its commands belong to unless a test names another
    step: str
    #: the command that undoes a step (sent in the compensation phase)
    compensation: str


@pytest.fixture
def service_database(pg_database: str, participant_service: ParticipantService) -> str:
    """A fresh database at the latest revision (the service's own ``migrate``)."""
    settings = participant_service.settings(dsn=pg_database)
    migrate_database(settings, participant_service.migrations)
    return pg_database


@pytest.fixture
def sessions(service_database: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(service_database, pool_size=2)
    yield sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def handle(sessions: sessionmaker[Session], participant_service: ParticipantService) -> Handle:
    """Handle one command in its own transaction, as the inbox consumer does."""
    outbox = Outbox(router=TopicRouter(template="test.{aggregatetype}"))
    participant = participant_service.participant(outbox)

    def run(command: CommandEnvelope) -> ReplyEnvelope:
        with sessions.begin() as session:
            return participant.handle_command(session, command)

    return run


def traced(handle: Handle, command: CommandEnvelope) -> str:
    """Handle ``command`` inside a span, as the consumer does; that span's trace id."""
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span(f"process {command.name}") as span:
        handle(command)
    return f"{span.get_span_context().trace_id:032x}"


def stored_trace_ids(sessions: sessionmaker[Session], query: str, **params: Any) -> set[str]:
    """The trace ids of the ``traceparent`` columns of the one row ``query`` selects."""
    with sessions() as session:
        row = session.execute(sa.text(query), params).one()
    return {traceparent.split("-")[1] for traceparent in row}


@pytest.fixture
def command(participant_service: ParticipantService) -> Command:
    """A command of one saga to the service, as the order saga sends it."""

    def make(
        name: str,
        *,
        saga_id: uuid.UUID,
        step: str = participant_service.step,
        attempt: int = 1,
        **payload: Any,
    ) -> CommandEnvelope:
        return CommandEnvelope(
            saga_id=saga_id,
            saga_type="order",
            saga_version=1,
            step=step,
            phase=Phase.COMPENSATION if name == participant_service.compensation else Phase.ACTION,
            attempt=attempt,
            name=name,
            payload={k: str(v) if isinstance(v, uuid.UUID) else v for k, v in payload.items()},
            reply_to="saga.replies",
        )

    return make


@pytest.fixture
def prefix(
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    participant_service: ParticipantService,
) -> str:
    """A topic prefix of this test's own, with the command and reply topics created."""
    name = unique_name("shop")
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topics = [f"{name}.{participant_service.name}.commands", f"{name}.saga.replies"]
    for future in admin.create_topics([NewTopic(t, num_partitions=2) for t in topics]).values():
        future.result(30)
    return name


@contextmanager
def started(app: FastAPI) -> Iterator[TestClient]:
    """``app`` started (lifespan) and ready: migrated, Kafka reached, workers running."""
    with TestClient(app) as client:

        def readiness() -> tuple[int, Any]:
            response = client.get("/readyz")
            return response.status_code, response.json()

        eventually(
            readiness, until=lambda r: r[0] == 200, timeout=60, description="the app to be ready"
        )
        yield client


@pytest.fixture
def client(
    pg_database: str,
    kafka_bootstrap: str,
    prefix: str,
    participant_service: ParticipantService,
) -> Iterator[TestClient]:
    """The service's app on a fresh database, started and ready."""
    settings = participant_service.settings(
        dsn=pg_database, kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix
    )
    with started(participant_service.create_app(settings)) as client:
        yield client


def send_command(kafka_bootstrap: str, topic: str, command: CommandEnvelope) -> None:
    """Produce ``command`` on ``topic`` as the orchestrator's outbox relay does."""
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(
        topic,
        key=str(command.saga_id),
        value=json.dumps(command.to_json()),
        headers={"id": str(uuid.uuid4()), "eventType": "SagaCommand"},
    )
    assert producer.flush(30) == 0


@pytest.fixture
def over_kafka(  # noqa: PLR0917 - pytest passes fixtures positionally
    client: TestClient,
    kafka_bootstrap: str,
    prefix: str,
    consume: Any,
    pg_database: str,
    participant_service: ParticipantService,
) -> OverKafka:
    """Send a command to the running service over Kafka; its reply, as JSON (without one, the
    test fails saying what the service knows about the command)."""

    def ask(command: CommandEnvelope) -> Any:
        send_command(kafka_bootstrap, f"{prefix}.{participant_service.name}.commands", command)
        topic = f"{prefix}.saga.replies"
        got = consume(topic, 1, timeout_s=120)
        if not got:
            with psycopg.connect(pg_database) as conn:
                inbox = conn.execute("SELECT state, attempts, last_error FROM inbox").fetchall()
                outbox = conn.execute("SELECT count(*) FROM outbox").fetchone()
            pytest.fail(
                f"no reply on {topic}: readyz {client.get('/readyz').json()}, inbox {inbox}, "
                f"unsent outbox rows {outbox}"
            )
        return json.loads(got[0].value())

    return ask
