"""``participant_runtime`` and ``service_app`` on the real stack: a participant wired by them
boots, answers a command that arrives on Kafka on Kafka, and serves its own routes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from confluent_kafka.admin import AdminClient
from fastapi import APIRouter
from sqlalchemy.orm import Session

from eventyard.outbox import InboxTable, Outbox, OutboxTable, create_outbox_schema
from eventyard.saga import (
    CommandEnvelope,
    Participant,
    Phase,
    SagaTables,
    create_saga_schema,
)
from eventyard.service import ServiceSettings, participant_runtime, service_app
from tests.integration.service.participant_fixtures import send_command, started


class Settings(ServiceSettings):
    model_config = ServiceSettings.config_for("ECHO")
    database: str = "eventyard_echo"


def echo(outbox: Outbox) -> Participant:
    """A participant whose one command, ``Echo``, replies with its payload."""
    participant = Participant("echo", outbox=outbox)

    def answer(session: Session, command: CommandEnvelope) -> dict[str, Any]:
        return dict(command.payload)

    participant.register("Echo", answer)
    return participant


def test_a_participant_is_booted_answers_on_kafka_and_serves_its_routes(
    pg_database: str,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    consume: Any,
    topics_made: list[str],
) -> None:
    with psycopg.connect(pg_database, autocommit=True) as conn:  # what its migrations would do
        create_outbox_schema(conn, outbox=OutboxTable(), inbox=InboxTable())
        create_saga_schema(conn, tables=SagaTables(), orchestrator=False, participant=True)
    prefix = unique_name("shop")
    topics_made.append(f"{prefix}.")
    settings = Settings(dsn=pg_database, kafka_bootstrap=kafka_bootstrap, topic_prefix=prefix)
    runtime = participant_runtime(name="echo", settings=settings, migrations=None, participant=echo)
    router = APIRouter()

    @router.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    app = service_app(runtime, title="Eventyard echo", router=router)
    assert (app.title, app.version, app.state.runtime) == ("Eventyard echo", "0.1.0", runtime)
    with started(app) as client:
        ready = client.get("/readyz")
        assert ready.json()["checks"] == {
            "database": "ok",
            "kafka": "ok",
            "worker:relay": "running",
            "worker:participant": "running",
        }
        made = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10).topics
        assert {f"{prefix}.echo.commands", f"{prefix}.saga.replies"} <= set(made)
        assert client.get("/hello").json() == {"hello": "world"}
        assert client.get("/healthz").json() == {"status": "ok", "service": "echo"}

        saga = uuid.uuid4()
        command = CommandEnvelope(
            saga_id=saga,
            saga_type="order",
            saga_version=1,
            step="echo",
            phase=Phase.ACTION,
            attempt=1,
            name="Echo",
            payload={"said": "hi"},
            reply_to="saga.replies",
        )
        send_command(kafka_bootstrap, f"{prefix}.echo.commands", command)
        got = consume(f"{prefix}.saga.replies", 1, timeout_s=120)
        assert got, f"no reply: readyz {client.get('/readyz').json()}"
        reply = json.loads(got[0].value())
        assert (reply["saga_id"], reply["outcome"], reply["data"]) == (
            str(saga),
            "success",
            {"said": "hi"},
        )
