"""Transactional outbox for PostgreSQL and Kafka.

Publish events in the caller's own transaction (:class:`Outbox`), deliver them with the ordered,
parallel polling relay (:class:`Relay`) or Debezium's EventRouter (:class:`DebeziumConnector`),
and apply them exactly once with an inbox (:class:`InboxConsumer`). Fakes for unit tests are in
:mod:`eventyard.outbox.testing`. Nothing here connects to anything at import time.
"""

from ._debezium import DebeziumConnector
from ._exceptions import (
    BrokerUnavailable,
    ConfigurationError,
    ConnectorError,
    HandlerOutcome,
    InvalidEvent,
    OutboxError,
    PayloadTooLarge,
    PublishError,
    RejectMessage,
    RetryableError,
    RetryLater,
    SerializationError,
    StoreUnavailable,
)
from ._inbox import InboundMessage, InboxConfig, InboxConsumer, InboxStats, dead_letter_headers
from ._kafka import KafkaSink, producer_config
from ._model import (
    CONTENT_TYPE_AVRO,
    CONTENT_TYPE_BYTES,
    CONTENT_TYPE_JSON,
    Event,
    OutboxRecord,
    OutboxRow,
    OutgoingMessage,
    SendReport,
)
from ._observability import RelayMetrics
from ._ports import Backlog, Cleanup, Horizon, MessageSink, OutboxStore, StoreSession
from ._postgres import PostgresOutboxStore
from ._publish import Outbox, Publisher
from ._relay import Relay, RelayConfig, RelayStatus
from ._routing import TopicRouter
from ._schema import (
    InboxTable,
    OutboxTable,
    SupportsExecute,
    create_outbox_schema,
    drop_outbox_schema,
    inbox_ddl,
    outbox_ddl,
    outbox_partition_ddl,
)
from ._serializers import (
    AvroSerializer,
    BytesSerializer,
    JsonSerializer,
    PayloadSerializer,
    SerializedPayload,
)
from ._settings import RelaySettings, build_relay
from ._tracing import consumer_span

__all__ = [
    "CONTENT_TYPE_AVRO",
    "CONTENT_TYPE_BYTES",
    "CONTENT_TYPE_JSON",
    "AvroSerializer",
    "Backlog",
    "BrokerUnavailable",
    "BytesSerializer",
    "Cleanup",
    "ConfigurationError",
    "ConnectorError",
    "DebeziumConnector",
    "Event",
    "HandlerOutcome",
    "Horizon",
    "InboundMessage",
    "InboxConfig",
    "InboxConsumer",
    "InboxStats",
    "InboxTable",
    "InvalidEvent",
    "JsonSerializer",
    "KafkaSink",
    "MessageSink",
    "Outbox",
    "OutboxError",
    "OutboxRecord",
    "OutboxRow",
    "OutboxStore",
    "OutboxTable",
    "OutgoingMessage",
    "PayloadSerializer",
    "PayloadTooLarge",
    "PostgresOutboxStore",
    "PublishError",
    "Publisher",
    "RejectMessage",
    "Relay",
    "RelayConfig",
    "RelayMetrics",
    "RelaySettings",
    "RelayStatus",
    "RetryLater",
    "RetryableError",
    "SendReport",
    "SerializationError",
    "SerializedPayload",
    "StoreSession",
    "StoreUnavailable",
    "SupportsExecute",
    "TopicRouter",
    "build_relay",
    "consumer_span",
    "create_outbox_schema",
    "dead_letter_headers",
    "drop_outbox_schema",
    "inbox_ddl",
    "outbox_ddl",
    "outbox_partition_ddl",
    "producer_config",
]
