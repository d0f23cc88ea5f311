"""One trace per saga across Kafka: request -> saga -> step -> command -> participant -> reply."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from eventyard.outbox import (
    InboxConfig,
    InboxTable,
    KafkaSink,
    Outbox,
    OutboxTable,
    PostgresOutboxStore,
    Relay,
    RelayConfig,
    TopicRouter,
    create_outbox_schema,
    producer_config,
)
from eventyard.saga import (
    Command,
    CommandEnvelope,
    CommandRejected,
    Orchestrator,
    OrchestratorConfig,
    Participant,
    SagaDefinition,
    SagaTables,
    Step,
    create_saga_schema,
)
from tests.support.eventually import eventually


class Data(BaseModel):
    n: int


SAGA = SagaDefinition(
    name="traced",
    data=Data,
    steps=[
        Step(
            name="one",
            action=Command(participant="p", name="Do"),
            compensation=Command(participant="p", name="Undo"),
        ),
        Step(name="two", action=Command(participant="p", name="Refuse")),
    ],
)


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def test_one_saga_is_one_trace_across_processes_boundaries(
    pg_database: str,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, exporter = spans
    with psycopg.connect(pg_database, autocommit=True) as conn:
        for schema in ("o", "p"):
            create_outbox_schema(
                conn,
                outbox=OutboxTable(schema=schema, partitions=2),
                inbox=InboxTable(schema=schema),
            )
        create_saga_schema(conn, tables=SagaTables(schema="o"))
        create_saga_schema(
            conn, tables=SagaTables(schema="p"), orchestrator=False, participant=True
        )
    engine = sa.create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(pg_database))
    sessions = sessionmaker(engine)
    router = TopicRouter(template=unique_name("tr") + ".{aggregatetype}")
    orchestrator = Orchestrator(
        definitions=[SAGA],
        sessions=sessions,
        outbox=Outbox(
            table=OutboxTable(schema="o", partitions=2), router=router, tracer_provider=provider
        ),
        config=OrchestratorConfig(
            tables=SagaTables(schema="o"), inbox_table=InboxTable(schema="o")
        ),
        tracer_provider=provider,
    )
    participant = Participant(
        "p",
        outbox=Outbox(
            table=OutboxTable(schema="p", partitions=2), router=router, tracer_provider=provider
        ),
        tables=SagaTables(schema="p"),
        tracer_provider=provider,
    )

    @participant.handles("Do", "Undo")
    def ok(_session: Session, _command: CommandEnvelope) -> None:
        return None

    @participant.handles("Refuse")
    def refuse(_session: Session, _command: CommandEnvelope) -> None:
        raise CommandRejected("no")

    relays = [
        Relay(
            store=PostgresOutboxStore(pg_database, table=OutboxTable(schema=s, partitions=2)),
            sink=lambda: KafkaSink(producer_config(kafka_bootstrap, client_id="tr")),
            config=RelayConfig(name=f"relay-{s}", router=router, poll_interval=0.2),
        )
        for s in ("o", "p")
    ]
    threads = [threading.Thread(target=r.run, daemon=True) for r in relays]
    for t in threads:
        t.start()
    kafka: dict[str, Any] = {"bootstrap.servers": kafka_bootstrap, "group.id": unique_name("g")}
    replies = orchestrator.reply_consumer(
        kafka,
        inbox=InboxConfig(
            name="r",
            topics=(orchestrator.reply_topic,),
            table=InboxTable(schema="o"),
            poll_timeout=0.05,
        ),
    )
    commands = participant.consumer(
        {**kafka, "group.id": unique_name("g")},
        sessions=sessions,
        inbox=InboxConfig(
            name="c", topics=(participant.topic,), table=InboxTable(schema="p"), poll_timeout=0.05
        ),
    )
    try:
        with (
            provider.get_tracer("shop").start_as_current_span("POST /orders"),
            sessions() as session,
            session.begin(),
        ):
            saga_id = orchestrator.start(session, SAGA, Data(n=1))

        def status() -> str:
            """The saga's status after letting the participant and the orchestrator poll once."""
            commands.poll(0.05)
            replies.poll(0.05)
            with engine.connect() as conn:
                return str(conn.execute(sa.text("SELECT sagastatus FROM o.saga_state")).scalar())

        eventually(
            status,
            until=lambda s: s == "COMPENSATED",
            timeout=90,
            interval=0,
            description="the saga to be compensated",
        )
    finally:
        commands.close()
        replies.close()
        for r in relays:
            r.stop()
        for t in threads:
            t.join(10)
        engine.dispose()
    check_one_trace(exporter, pg_database, saga_id, participant.topic, orchestrator.reply_topic)


def check_one_trace(
    exporter: InMemorySpanExporter, dsn: str, saga_id: Any, command_topic: str, reply_topic: str
) -> None:
    finished = exporter.get_finished_spans()
    request = next(s for s in finished if s.name == "POST /orders")
    names = [s.name for s in finished]
    for name in (
        "saga traced",
        "saga.step one",
        "saga.step two",
        "saga.compensate one",
        "saga.compensated",
        "saga.participant Do",
        "saga.participant Refuse",
        "saga.participant Undo",
        f"process {command_topic}",
        f"process {reply_topic}",
    ):
        assert name in names, name
    assert names.count(f"process {reply_topic}") == 3
    assert {s.context.trace_id for s in finished} == {request.context.trace_id}
    trace_id = format(request.context.trace_id, "032x")
    with psycopg.connect(dsn) as conn:
        logged = {r[0] for r in conn.execute("SELECT DISTINCT trace_id FROM o.saga_step_log")}
        stored = conn.execute(
            "SELECT trace_id FROM o.saga_state WHERE id = %s", (saga_id,)
        ).fetchone()
    assert logged == {trace_id}
    assert stored == (trace_id,)
    saga_span = next(s for s in finished if s.name == "saga traced")
    for step in (s for s in finished if s.name.startswith(("saga.step", "saga.compensate"))):
        assert step.parent is not None
        assert step.parent.span_id == saga_span.context.span_id
