"""``Outbox.publish``: write an event into the outbox inside the caller's own transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import sqlalchemy as sa
from opentelemetry.trace import TracerProvider
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import TableClause

from eventyard.outbox._exceptions import (
    ConfigError,
    InvalidEvent,
    PayloadTooLarge,
    SerializationError,
)
from eventyard.outbox._model import (
    HEADER_AGGREGATE_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_EVENT_TYPE,
    HEADER_EXTRA,
    HEADER_ID,
    HEADER_TRACEPARENT,
    HEADER_TRACESTATE,
    Event,
    OutboxRecord,
)
from eventyard.outbox._routing import TopicRouter
from eventyard.outbox._schema import OutboxTable
from eventyard.outbox._serializers import JsonSerializer, PayloadSerializer
from eventyard.outbox._tracing import INSTRUMENTATION, producer_span, trace_headers

__all__ = ["Outbox", "Publisher", "message_size"]

#: Bytes a Kafka record adds around key, value and headers (record batch share, varints, CRC).
_RECORD_OVERHEAD = 128


def message_size(record: OutboxRecord, topic: str) -> int:
    """An upper estimate of the Kafka message the record becomes (value, key, headers, overhead)."""
    headers = {
        HEADER_ID: str(record.id),
        HEADER_EVENT_TYPE: record.type,
        HEADER_AGGREGATE_TYPE: record.aggregate_type,
        HEADER_CONTENT_TYPE: record.content_type,
        HEADER_TRACEPARENT: record.traceparent or "",
        HEADER_TRACESTATE: record.tracestate or "",
        HEADER_EXTRA: json.dumps(dict(record.headers), ensure_ascii=False),
    }
    header_bytes = sum(len(k) + len(v.encode()) + 4 for k, v in headers.items())
    key_bytes = len(record.aggregate_id.encode())
    return len(record.payload) + key_bytes + header_bytes + len(topic) + _RECORD_OVERHEAD


def _table_clause(table: OutboxTable) -> TableClause:
    return sa.table(
        table.name,
        sa.column("seq", sa.BigInteger()),
        sa.column("id", sa.Uuid()),
        sa.column("aggregatetype", sa.Text()),
        sa.column("aggregateid", sa.Text()),
        sa.column("type", sa.Text()),
        sa.column("payload", sa.LargeBinary()),
        sa.column("headers", JSONB()),
        sa.column("contenttype", sa.Text()),
        sa.column("traceparent", sa.Text()),
        sa.column("tracestate", sa.Text()),
        schema=table.schema,
    )


class Publisher(Protocol):
    """What a service needs to publish: :class:`Outbox`, or ``testing.InMemoryOutbox`` in tests."""

    def publish(self, session: Session, event: Event) -> OutboxRecord:
        """Publish ``event`` in ``session``'s transaction."""
        ...

    def publish_all(self, session: Session, events: Sequence[Event]) -> list[OutboxRecord]:
        """Publish ``events``, in order, in ``session``'s transaction."""
        ...

    async def publish_async(self, session: AsyncSession, event: Event) -> OutboxRecord:
        """Publish ``event`` in an ``AsyncSession``'s transaction."""
        ...


@dataclass(frozen=True, kw_only=True)
class Outbox:
    """Publishes events into the outbox table, in the transaction of the session it is given.

    ``serializer`` encodes payloads (``serializers`` overrides it per event type), ``router``
    names the topic (needed at publish time for Avro subjects and the size check), and
    ``max_message_bytes`` refuses events whose Kafka message would be too large: keep it at or
    below the producer's ``message.max.bytes`` and the topic's ``max.message.bytes``.

    ``delete_after_insert`` is for Debezium mode only: the row is deleted in the same transaction
    (the EventRouter reads the insert from the WAL and ignores the delete), so the table stays
    empty. Never set it with the polling relay: the relay would find nothing to send.
    """

    table: OutboxTable = field(default_factory=OutboxTable)
    serializer: PayloadSerializer = field(default_factory=JsonSerializer)
    serializers: Mapping[str, PayloadSerializer] = field(default_factory=dict)
    router: TopicRouter = field(default_factory=TopicRouter)
    max_message_bytes: int = 1_000_000
    delete_after_insert: bool = False
    tracer_provider: TracerProvider | None = None

    def __post_init__(self) -> None:
        if self.max_message_bytes < 1024:
            raise ConfigError(
                f"max_message_bytes must be at least 1024, not {self.max_message_bytes}"
            )

    # ------------------------------------------------------------------ pure part

    def record(self, event: Event) -> OutboxRecord:
        """Validate and serialize ``event`` into the row it becomes (no I/O but the registry's).

        The current span's W3C context is stored; call it inside the span that caused the event.
        """
        if not isinstance(event.aggregate_id, str) or not event.aggregate_id:
            raise InvalidEvent(
                f"event {event.id} ({event.type}): aggregate_id must be a non-empty string"
            )
        if not event.type:
            raise InvalidEvent(f"event {event.id}: type must be a non-empty string")
        topic = self.router.topic(event.aggregate_type)
        serializer = self.serializers.get(event.type, self.serializer)
        try:
            serialized = serializer.serialize(event.payload, topic=topic)
        except Exception as error:
            raise SerializationError(
                f"event {event.id} ({event.type}) for {topic}: {type(error).__name__}: {error}"
            ) from error
        for key, value in event.headers.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidEvent(
                    f"event {event.id} ({event.type}): header {key!r} must be str: str"
                )
        traceparent, tracestate = trace_headers()
        headers: dict[str, str] = dict(event.headers)
        headers["content-type"] = serialized.content_type
        if serialized.schema_id is not None:
            headers["schema-id"] = str(serialized.schema_id)
        if traceparent:
            headers["traceparent"] = traceparent
        if tracestate:
            headers["tracestate"] = tracestate
        record = OutboxRecord(
            id=event.id,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            type=event.type,
            payload=serialized.data,
            content_type=serialized.content_type,
            headers=headers,
            traceparent=traceparent,
            tracestate=tracestate,
        )
        size = message_size(record, topic)
        if size > self.max_message_bytes:
            raise PayloadTooLarge(
                event_id=str(event.id),
                event_type=event.type,
                size=size,
                limit=self.max_message_bytes,
            )
        return record

    def records(self, events: Iterable[Event]) -> list[OutboxRecord]:
        """:meth:`record` for each event, each inside its own ``create <topic>`` span."""
        made = []
        for event in events:
            with producer_span(
                topic=self.router.topic(event.aggregate_type),
                event_id=str(event.id),
                aggregate_id=str(event.aggregate_id),
                tracer_provider=self.tracer_provider,
                instrumentation_name=INSTRUMENTATION,
            ):
                made.append(self.record(event))
        return made

    # ------------------------------------------------------------------ writing

    def publish(self, session: Session, event: Event) -> OutboxRecord:
        """Insert ``event`` in ``session``'s transaction; it is published if and when that commits.

        Raises a :class:`PublishError` (nothing written) if the event is invalid, cannot be
        serialized, or would be too large for Kafka.
        """
        (record,) = self.publish_all(session, [event])
        return record

    def publish_all(self, session: Session, events: Iterable[Event]) -> list[OutboxRecord]:
        """Insert several events in one statement, in order, in ``session``'s transaction."""
        records = self.records(events)
        if records:
            self._insert(session, records)
        return records

    async def publish_async(self, session: AsyncSession, event: Event) -> OutboxRecord:
        """:meth:`publish` for an ``AsyncSession``."""
        (record,) = await self.publish_all_async(session, [event])
        return record

    async def publish_all_async(
        self, session: AsyncSession, events: Iterable[Event]
    ) -> list[OutboxRecord]:
        """:meth:`publish_all` for an ``AsyncSession``."""
        records = self.records(events)
        if records:
            await session.run_sync(self._insert, records)
        return records

    @cached_property
    def _statements(self) -> tuple[TableClause, sa.Insert]:
        """The table clause and its INSERT, built once: SQLAlchemy then finds the compiled form
        in its cache at once instead of rebuilding the statement on every publish."""
        table = _table_clause(self.table)
        return table, sa.insert(table)

    def _insert(self, session: Session, records: Sequence[OutboxRecord]) -> None:
        table, insert = self._statements
        rows: list[dict[str, Any]] = [
            {
                "id": r.id,
                "aggregatetype": r.aggregate_type,
                "aggregateid": r.aggregate_id,
                "type": r.type,
                "payload": r.payload,
                "headers": dict(r.headers),
                "contenttype": r.content_type,
                "traceparent": r.traceparent,
                "tracestate": r.tracestate,
            }
            for r in records
        ]
        if not self.delete_after_insert:
            session.execute(insert, rows)
            return
        seqs = session.scalars(insert.returning(table.c.seq), rows).all()
        session.execute(sa.delete(table).where(table.c.seq.in_(seqs)))
