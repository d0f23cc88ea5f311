"""CDC spans on the real stack: a change applied by the projection runner joins the trace whose
``traceparent`` the source row stores (a child span, not only a link)."""

# ruff: noqa: PLR0917 - pytest passes fixtures positionally

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from psycopg import sql

from eventyard.cdc import Projection, ProjectionRunner, RunnerConfig
from eventyard.stack import postgres_connector_config
from tests.support.eventually import eventually

SOURCE = """
CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL, traceparent text);
ALTER TABLE orders REPLICA IDENTITY FULL;
"""
PROJECTED = "CREATE TABLE {table} (id bigint PRIMARY KEY, status text, traceparent text)"


def _traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    made = TracerProvider(resource=Resource.create({"service.name": "order-history"}))
    made.add_span_processor(SimpleSpanProcessor(exporter))
    yield made
    made.shutdown()


def _sql(dsn: str, statement: str, params: Any = None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement, params)


def _converged(runner: ProjectionRunner, dsn: str, schema: str, timeout_s: float = 90) -> None:
    """Run ``runner`` until its copy holds only row 2, REJECTED (what the source ends with)."""
    query = sql.SQL("SELECT id, status FROM {}").format(sql.Identifier(schema, "orders"))

    def copy() -> list[tuple[Any, ...]]:
        runner.poll_once()
        with psycopg.connect(dsn, autocommit=True) as conn:
            return conn.execute(query).fetchall()

    eventually(
        copy,
        until=lambda rows: rows == [(2, "REJECTED")],
        timeout=timeout_s,
        interval=0,
        description=f"the projection {schema} to converge",
    )


def _runner(
    projection_name: str,
    dsn: str,
    topic: str,
    bootstrap: str,
    provider: TracerProvider,
    **config: Any,
) -> ProjectionRunner:
    projection = Projection(projection_name, tables={"orders": PROJECTED})
    projection.mirror("public.orders", into="orders", key=["id"])
    return ProjectionRunner(
        projection,
        RunnerConfig(
            bootstrap_servers=bootstrap,
            dsn=dsn,
            group_id=f"{projection_name}-{secrets.token_hex(4)}",
            topics=(topic,),
            schema=projection_name,
            **config,
        ),
        tracer_provider=provider,
    )


def test_each_change_is_applied_in_a_child_of_the_rows_context(
    pg_database: str,
    connectors: Any,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
) -> None:
    _sql(pg_database, SOURCE)
    created, created_trace, created_span = _traceparent()
    _sql(
        pg_database,
        "INSERT INTO orders VALUES (1, 'PENDING', %s), (2, 'PENDING', NULL)",
        (created,),
    )
    prefix, slot = unique_name("cdc"), unique_name("slot")
    connectors.create(
        prefix,
        postgres_connector_config(
            pg_database,
            prefix=prefix,
            slot=slot,
            tables=["public.orders"],
            **{
                "snapshot.mode": "initial",
                "topic.creation.default.replication.factor": "1",
                "topic.creation.default.partitions": "1",
            },
        ),
        slot=slot,
    )
    approved, approved_trace, approved_span = _traceparent()
    _sql(
        pg_database,
        "UPDATE orders SET status = 'APPROVED', traceparent = %s WHERE id = 1",
        (approved,),
    )
    _sql(pg_database, "DELETE FROM orders WHERE id = 1")  # the before image keeps `approved`
    _sql(pg_database, "UPDATE orders SET status = 'REJECTED' WHERE id = 2")  # no context

    topic = f"{prefix}.public.orders"
    traced = _runner(
        "traced", pg_database, topic, kafka_bootstrap, provider, trace_context_column="traceparent"
    )
    plain = _runner("plain", pg_database, topic, kafka_bootstrap, provider)
    try:
        _converged(traced, pg_database, "traced")
        _converged(plain, pg_database, "plain")
    finally:
        traced.close()
        plain.close()

    spans = exporter.get_finished_spans()
    applied = [s for s in spans if s.name == "apply public.orders"]
    batches = [s for s in spans if s.name == "apply batch"]
    assert {(s.attributes or {})["eventyard.projection"] for s in spans} == {"traced"}

    def parent(span: ReadableSpan) -> tuple[str, str]:
        assert span.parent is not None
        return f"{span.parent.trace_id:032x}", f"{span.parent.span_id:016x}"

    # The snapshot read of row 1 (created), its update and its delete (approved): three events
    # with a context; row 2's events carry none and get no span.
    assert sorted(((s.attributes or {})["eventyard.cdc.op"], parent(s)) for s in applied) == sorted(
        [
            ("r", (created_trace, created_span)),
            ("u", (approved_trace, approved_span)),
            ("d", (approved_trace, approved_span)),
        ]
    )
    for span in applied:
        assert span.kind == SpanKind.CONSUMER
        assert span.parent is not None
        assert span.context.trace_id == span.parent.trace_id
        assert span.resource.attributes["service.name"] == "order-history"
        attributes = span.attributes or {}
        assert attributes["messaging.system"] == "kafka"
        assert attributes["messaging.destination.name"] == topic
        assert attributes["messaging.destination.partition.id"] == "0"
        assert isinstance(attributes["messaging.kafka.offset"], int)
        # The batch that applied it starts a trace of its own and links the event's context.
        (batch,) = [b for b in batches if span.parent in [link.context for link in b.links]]
        assert batch.parent is None
        assert batch.context.trace_id != span.context.trace_id
