"""Value objects: the event a service publishes, the row it becomes, the message Kafka gets.

One envelope for both delivery paths. Whether the polling relay or Debezium's EventRouter carries
a row, the Kafka message is the same:

=================  ==========================================================================
topic              the topic template applied to ``aggregatetype``
                   (default ``outbox.event.{aggregatetype}``)
key                ``aggregateid`` as UTF-8 (so one aggregate's events share a Kafka partition)
value              ``payload``: the bytes serialized at publish time, untouched
header ``id``      the event id (a UUID as text): the inbox's deduplication key
``eventType``      ``type``
``aggregateType``  ``aggregatetype``
``contentType``    how ``payload`` is encoded (``application/json``, Confluent Avro, ...)
``traceparent``    W3C trace context of the publishing span (null when there was none)
``tracestate``     W3C trace state (null when empty)
``eventyard.headers``  the row's ``headers`` column (JSON text): the above plus ``schema-id``
                   and any extra headers given to the event
=================  ==========================================================================
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

__all__ = [
    "CONTENT_TYPE_AVRO",
    "CONTENT_TYPE_BYTES",
    "CONTENT_TYPE_JSON",
    "HEADER_AGGREGATE_TYPE",
    "HEADER_CONTENT_TYPE",
    "HEADER_EVENT_TYPE",
    "HEADER_EXTRA",
    "HEADER_ID",
    "HEADER_TRACEPARENT",
    "HEADER_TRACESTATE",
    "Event",
    "OutboxRecord",
    "OutboxRow",
    "OutgoingMessage",
    "SendReport",
]

CONTENT_TYPE_JSON: Final = "application/json"
CONTENT_TYPE_AVRO: Final = "application/vnd.confluent.avro"  # Confluent wire format
CONTENT_TYPE_BYTES: Final = "application/octet-stream"

HEADER_ID: Final = "id"
HEADER_EVENT_TYPE: Final = "eventType"
HEADER_AGGREGATE_TYPE: Final = "aggregateType"
HEADER_CONTENT_TYPE: Final = "contentType"
HEADER_TRACEPARENT: Final = "traceparent"
HEADER_TRACESTATE: Final = "tracestate"
HEADER_EXTRA: Final = "eventyard.headers"


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened to an aggregate, to be published with the state change.

    ``payload`` is serialized at publish time by the Outbox's serializer (a JSON-able value for
    JSON, a dict for Avro, ``bytes`` for raw bytes). ``headers`` are extra string headers kept in
    the row's ``headers`` column and carried in the ``eventyard.headers`` Kafka header.
    """

    aggregate_type: str
    aggregate_id: str
    type: str
    payload: object
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class OutboxRecord:
    """An event serialized for the outbox table: what ``publish`` inserts."""

    id: uuid.UUID
    aggregate_type: str
    aggregate_id: str
    type: str
    payload: bytes
    content_type: str
    headers: Mapping[str, str]
    traceparent: str | None = None
    tracestate: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxRow:
    """A committed outbox row as a relay reads it (``id`` as text, as it goes into the header)."""

    seq: int
    partition: int
    id: str
    aggregate_type: str
    aggregate_id: str
    type: str
    payload: bytes
    content_type: str | None
    headers_json: str
    traceparent: str | None
    tracestate: str | None
    created_at: datetime | None = None  # None where the store does not read it (the relay)


@dataclass(frozen=True, kw_only=True, slots=True)
class OutgoingMessage:
    """One Kafka message a relay sends for one row (``seq``); header values as text."""

    seq: int
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, kw_only=True)
class SendReport:
    """What happened to a batch: acknowledged, refused for good, or not known to be sent."""

    delivered: tuple[int, ...] = ()
    rejected: Mapping[int, str] = field(default_factory=dict)
    unsent: tuple[int, ...] = ()
