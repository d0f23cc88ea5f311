"""Typed results of decoding: one frozen dataclass per kind of Debezium record.

``Event`` is the union the decoder returns. Row values are plain Python values (``Decimal``,
``datetime``, ``UUID``, parsed JSON, lists...) or :data:`UNAVAILABLE` where Debezium could not
read an unchanged TOAST column.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from eventyard.cdc._position import Position
from eventyard.cdc._schema import ConnectSchema

__all__ = [
    "UNAVAILABLE",
    "ChangeEvent",
    "Event",
    "Heartbeat",
    "MessageEvent",
    "Op",
    "Row",
    "SchemaChange",
    "Source",
    "TableChange",
    "TableEvent",
    "Tombstone",
    "TransactionEvent",
    "TransactionRef",
    "TruncateEvent",
    "Unavailable",
]

Row: TypeAlias = Mapping[str, Any]


class Unavailable(enum.Enum):
    """Type of :data:`UNAVAILABLE`."""

    VALUE = "__debezium_unavailable_value"

    def __repr__(self) -> str:
        return "UNAVAILABLE"


UNAVAILABLE = Unavailable.VALUE
"""An unchanged TOAST column Debezium could not read: keep the value the projection has."""


class Op(enum.StrEnum):
    """Debezium's ``op`` codes."""

    CREATE = "c"
    UPDATE = "u"
    DELETE = "d"
    READ = "r"  # a row read by a snapshot
    TRUNCATE = "t"
    MESSAGE = "m"  # a logical decoding message (pg_logical_emit_message)


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """The ``source`` block: where and when the change happened in the database.

    ``lsn`` is the change's own WAL position; ``commit_lsn`` is the first element of Debezium's
    ``sequence`` (the last commit LSN the connector had processed before this change; None right
    after a snapshot). Other connectors' fields stay available in ``raw``.
    """

    connector: str
    name: str
    db: str
    schema: str | None
    table: str | None
    ts_ms: int
    snapshot: str | None
    lsn: int | None
    commit_lsn: int | None
    tx_id: int | None
    version: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def is_snapshot(self) -> bool:
        """True for rows read by a snapshot (``true``, ``first``, ``last``, ``incremental``...)."""
        return self.snapshot not in (None, "false")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionRef:
    """The ``transaction`` block of a change event (``provide.transaction.metadata=true``)."""

    id: str
    total_order: int
    data_collection_order: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeEvent:
    """A row created (``c``), updated (``u``), deleted (``d``) or read by a snapshot (``r``).

    ``before`` holds only the key columns unless the table has ``REPLICA IDENTITY FULL``.
    ``columns`` is the row's schema when the record carried one (JSON with schemas, Avro).
    """

    op: Op
    key: Row | None
    before: Row | None
    after: Row | None
    source: Source
    ts_ms: int | None
    transaction: TransactionRef | None
    position: Position
    columns: ConnectSchema | None = field(default=None, repr=False, compare=False)

    @property
    def table(self) -> str:
        """``schema.table`` of the source table."""
        return f"{self.source.schema}.{self.source.table}"

    @property
    def row(self) -> Row:
        """The row as it is now (``after``), or as it was for a delete (``before``)."""
        row = self.after if self.after is not None else self.before
        return row if row is not None else {}

    @property
    def is_delete(self) -> bool:
        """True for ``d``."""
        return self.op is Op.DELETE


@dataclass(frozen=True, slots=True, kw_only=True)
class TruncateEvent:
    """``TRUNCATE`` of a table (emitted when the connector's ``skipped.operations`` allows it)."""

    source: Source
    ts_ms: int | None
    transaction: TransactionRef | None
    position: Position
    op: Literal[Op.TRUNCATE] = Op.TRUNCATE

    @property
    def table(self) -> str:
        """``schema.table`` of the truncated table."""
        return f"{self.source.schema}.{self.source.table}"


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageEvent:
    """A logical decoding message written with ``pg_logical_emit_message``."""

    prefix: str
    content: bytes
    transactional: bool
    source: Source
    ts_ms: int | None
    position: Position
    op: Literal[Op.MESSAGE] = Op.MESSAGE


@dataclass(frozen=True, slots=True, kw_only=True)
class Tombstone:
    """The null-valued record after a delete, for log compaction; carries only the key."""

    key: Row | None
    position: Position


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat:
    """A record of the heartbeat topic (``__debezium-heartbeat.<prefix>``)."""

    ts_ms: int
    server_name: str | None
    position: Position


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionEvent:
    """``BEGIN`` or ``END`` of a source transaction (the ``<prefix>.transaction`` topic).

    On ``END``, ``event_count`` and ``data_collections`` (``schema.table`` -> events) say how many
    change events the transaction produced.
    """

    status: Literal["BEGIN", "END"]
    id: str
    event_count: int | None
    data_collections: Mapping[str, int]
    ts_ms: int
    position: Position


@dataclass(frozen=True, slots=True, kw_only=True)
class TableChange:
    """One table's structure after a schema change (an element of ``tableChanges``)."""

    type: str
    id: str
    primary_key: tuple[str, ...]
    columns: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaChange:
    """A record of a connector's schema change topic (MySQL, SQL Server, Db2, Oracle...).

    The PostgreSQL connector writes none: there a schema change shows as a new row schema in the
    change events themselves (:attr:`ChangeEvent.columns`).
    """

    database: str | None
    schema: str | None
    ddl: str | None
    table_changes: tuple[TableChange, ...]
    source: Source | None
    ts_ms: int | None
    position: Position


TableEvent: TypeAlias = ChangeEvent | TruncateEvent
"""What a projection's per-table handlers receive."""

Event: TypeAlias = (
    ChangeEvent
    | TruncateEvent
    | MessageEvent
    | Tombstone
    | Heartbeat
    | TransactionEvent
    | SchemaChange
)
"""Everything :meth:`Decoder.decode` can return."""


# -- construction on the hot path -------------------------------------------------------------
# A frozen dataclass's __init__ sets each field through object.__setattr__, about 2,000 machine
# instructions a field: a third of decoding a change record went into making its Position,
# Source and ChangeEvent. The decoder makes them through twins instead: classes with the same
# slots, filled with plain attribute stores, whose instances then become the frozen class by
# __class__ assignment (which Python allows between identical layouts, and refuses with a
# TypeError otherwise). What comes out is an ordinary, frozen instance of the public class.
# Positional, every field given; a test pins each twin's parameters to its class's fields.
# Callers bind the result to the public type (mypy cannot see the class change).


class PositionTwin:
    __slots__ = ("offset", "partition", "topic")
    topic: str
    partition: int
    offset: int

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.__class__ = Position  # type: ignore[assignment]  # noqa: PLE0237 - see above


class SourceTwin:
    __slots__ = (
        "commit_lsn",
        "connector",
        "db",
        "lsn",
        "name",
        "raw",
        "schema",
        "snapshot",
        "table",
        "ts_ms",
        "tx_id",
        "version",
    )
    connector: str
    name: str
    db: str
    schema: str | None
    table: str | None
    ts_ms: int
    snapshot: str | None
    lsn: int | None
    commit_lsn: int | None
    tx_id: int | None
    version: str
    raw: Mapping[str, Any]

    def __init__(  # noqa: PLR0917 - one parameter per field, as the dataclass has
        self,
        connector: str,
        name: str,
        db: str,
        schema: str | None,
        table: str | None,
        ts_ms: int,
        snapshot: str | None,
        lsn: int | None,
        commit_lsn: int | None,
        tx_id: int | None,
        version: str,
        raw: Mapping[str, Any],
    ) -> None:
        self.connector = connector
        self.name = name
        self.db = db
        self.schema = schema
        self.table = table
        self.ts_ms = ts_ms
        self.snapshot = snapshot
        self.lsn = lsn
        self.commit_lsn = commit_lsn
        self.tx_id = tx_id
        self.version = version
        self.raw = raw
        self.__class__ = Source  # type: ignore[assignment]  # noqa: PLE0237 - see above


class ChangeEventTwin:
    __slots__ = (
        "after",
        "before",
        "columns",
        "key",
        "op",
        "position",
        "source",
        "transaction",
        "ts_ms",
    )
    op: Op
    key: Row | None
    before: Row | None
    after: Row | None
    source: Source
    ts_ms: int | None
    transaction: TransactionRef | None
    position: Position
    columns: ConnectSchema | None

    def __init__(  # noqa: PLR0917 - one parameter per field, as the dataclass has
        self,
        op: Op,
        key: Row | None,
        before: Row | None,
        after: Row | None,
        source: Source,
        ts_ms: int | None,
        transaction: TransactionRef | None,
        position: Position,
        columns: ConnectSchema | None,
    ) -> None:
        self.op = op
        self.key = key
        self.before = before
        self.after = after
        self.source = source
        self.ts_ms = ts_ms
        self.transaction = transaction
        self.position = position
        self.columns = columns
        self.__class__ = ChangeEvent  # type: ignore[assignment]  # noqa: PLE0237 - see above
