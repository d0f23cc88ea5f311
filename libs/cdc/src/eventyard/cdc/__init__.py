"""Debezium change events, decoded into typed objects, and read models kept exactly equal to
their source tables.

- :class:`Decoder`: a pure decoder (no I/O) of Debezium records: JSON with or without schemas,
  Avro in Confluent's wire format; every op, tombstones, heartbeats, transaction metadata,
  schema changes, unavailable TOAST values, Debezium's decimal and temporal types.
- :class:`Projection` and :class:`ProjectionRunner`: handlers per source table, applied to
  PostgreSQL in batches whose consumer offsets are stored in the same transaction; rebuilds
  swapped in atomically; poison records to a dead-letter topic; lag metrics.
- ``eventyard.cdc.faust``: the decoder inside faust-streaming agents (extra ``faust``).
- ``eventyard.cdc.testing``: Debezium-shaped records for unit tests.
"""

from eventyard.cdc._context import ApplyContext
from eventyard.cdc._dead_letters import DEAD_LETTER_HEADERS
from eventyard.cdc._decoder import Decoder, MessageLike, SchemaLookup
from eventyard.cdc._events import (
    UNAVAILABLE,
    ChangeEvent,
    Event,
    Heartbeat,
    MessageEvent,
    Op,
    Row,
    SchemaChange,
    Source,
    TableChange,
    TableEvent,
    Tombstone,
    TransactionEvent,
    TransactionRef,
    TruncateEvent,
    Unavailable,
)
from eventyard.cdc._exceptions import (
    CdcError,
    ConfigError,
    DeadLetterFailed,
    DecodeError,
    ProjectionError,
    RebuildFailed,
    SchemaUnavailable,
)
from eventyard.cdc._mirror import TableMirror, pg_type
from eventyard.cdc._offsets import BEGINNING, OffsetStore
from eventyard.cdc._position import Position
from eventyard.cdc._projection import EventHandler, Projection, TableHandler
from eventyard.cdc._registry import RegistrySchemas
from eventyard.cdc._runner import ProjectionRunner
from eventyard.cdc._runner_config import (
    PartitionLag,
    RebuildReport,
    RunnerConfig,
    RunnerMetrics,
)
from eventyard.cdc._schema import ConnectField, ConnectSchema

__all__ = [
    "BEGINNING",
    "DEAD_LETTER_HEADERS",
    "UNAVAILABLE",
    "ApplyContext",
    "CdcError",
    "ChangeEvent",
    "ConfigError",
    "ConnectField",
    "ConnectSchema",
    "DeadLetterFailed",
    "DecodeError",
    "Decoder",
    "Event",
    "EventHandler",
    "Heartbeat",
    "MessageEvent",
    "MessageLike",
    "OffsetStore",
    "Op",
    "PartitionLag",
    "Position",
    "Projection",
    "ProjectionError",
    "ProjectionRunner",
    "RebuildFailed",
    "RebuildReport",
    "RegistrySchemas",
    "Row",
    "RunnerConfig",
    "RunnerMetrics",
    "SchemaChange",
    "SchemaLookup",
    "SchemaUnavailable",
    "Source",
    "TableChange",
    "TableEvent",
    "TableHandler",
    "TableMirror",
    "Tombstone",
    "TransactionEvent",
    "TransactionRef",
    "TruncateEvent",
    "Unavailable",
    "pg_type",
]
