"""Transactional outbox for PostgreSQL and Kafka.

Publish events in the caller's own transaction (:class:`Outbox`), deliver them with the ordered,
parallel polling relay (:class:`Relay`) or Debezium's EventRouter (:class:`DebeziumConnector`),
and apply them exactly once with an inbox (:class:`InboxConsumer`). Fakes for unit tests are in
:mod:`eventyard.outbox.testing`. Nothing here connects to anything at import time.
"""

from eventyard.outbox._debezium import DebeziumConnector
from eventyard.outbox._exceptions import (
    BrokerUnavailable,
    ConfigError,
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
from eventyard.outbox._inbox import (
    InboundMessage,
    InboxConfig,
    InboxConsumer,
    InboxStats,
    dead_letter_headers,
)
from eventyard.outbox._inbox_store import InboxStore
from eventyard.outbox._kafka import KafkaSink, producer_config
from eventyard.outbox._model import (
    CONTENT_TYPE_AVRO,
    CONTENT_TYPE_BYTES,
    CONTENT_TYPE_JSON,
    Event,
    OutboxRecord,
    OutboxRow,
    OutgoingMessage,
    SendReport,
)
from eventyard.outbox._observability import RelayMetrics
from eventyard.outbox._ports import (
    Backlog,
    Cleanup,
    Horizon,
    MessageSink,
    OutboxStore,
    StoreSession,
)
from eventyard.outbox._postgres import PostgresOutboxStore
from eventyard.outbox._publish import Outbox, Publisher
from eventyard.outbox._relay import Relay, RelayConfig, RelayStatus
from eventyard.outbox._routing import TopicRouter
from eventyard.outbox._schema import (
    InboxTable,
    OutboxTable,
    SupportsExecute,
    create_outbox_schema,
    drop_outbox_schema,
    inbox_ddl,
    outbox_ddl,
    outbox_partition_ddl,
)
from eventyard.outbox._serializers import (
    AvroSerializer,
    BytesSerializer,
    JsonSerializer,
    PayloadSerializer,
    SerializedPayload,
)
from eventyard.outbox._settings import RelaySettings, build_relay
from eventyard.outbox._tracing import consumer_span

__all__ = [
    "CONTENT_TYPE_AVRO",
    "CONTENT_TYPE_BYTES",
    "CONTENT_TYPE_JSON",
    "AvroSerializer",
    "Backlog",
    "BrokerUnavailable",
    "BytesSerializer",
    "Cleanup",
    "ConfigError",
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
    "InboxStore",
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
