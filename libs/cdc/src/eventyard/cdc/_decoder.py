"""The decoder: Kafka records written by Debezium -> typed events. Pure: it does no I/O.

Formats, told apart per record:

- JSON converter with schemas (``{"schema": ..., "payload": ...}``): the Connect schema names
  each column's semantic type; each distinct schema is compiled once and cached by its bytes, so
  only the payload is parsed per record.
- JSON converter without schemas: values as Debezium wrote them, converted where the caller gave
  per-column hints.
- Avro in Confluent's wire format (magic byte 0, 4-byte schema id): the writer schema comes from
  the ``schema_lookup`` the caller supplies (the only place I/O may happen, at the edge).
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import fastavro
import orjson

from eventyard.cdc._events import (
    UNAVAILABLE,
    ChangeEvent,
    ChangeEventTwin,
    Event,
    Heartbeat,
    MessageEvent,
    Op,
    PositionTwin,
    SchemaChange,
    Source,
    SourceTwin,
    TableChange,
    Tombstone,
    TransactionEvent,
    TransactionRef,
    TruncateEvent,
)
from eventyard.cdc._exceptions import DecodeError, SchemaUnavailable
from eventyard.cdc._position import Position
from eventyard.cdc._schema import ConnectSchema, from_avro, from_connect_json
from eventyard.cdc._semantic import RowPlan, hinted_schema, row_plan

__all__ = ["Decoder", "MessageLike", "SchemaLookup"]

_SCHEMA_PREFIX = b'{"schema":'
_PAYLOAD_SEPARATOR = b',"payload":'
_HEARTBEAT_SCHEMA = "io.debezium.connector.common.Heartbeat"
_TRANSACTION_SCHEMA = "io.debezium.connector.common.TransactionMetadataValue"
_ROW_OPS = {"c": Op.CREATE, "u": Op.UPDATE, "d": Op.DELETE, "r": Op.READ}
# Snapshot reads carry whole rows; a key change's create can carry the placeholder, as updates do.
_TOAST_OPS = frozenset({Op.CREATE, Op.UPDATE, Op.DELETE})


class MessageLike(Protocol):
    """What the decoder reads of a record: ``confluent_kafka.Message`` fits as it is."""

    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...


SchemaLookup = Callable[[int], str]
"""Schema id -> the Avro schema text registered under it (see :class:`RegistrySchemas`)."""


class _Plan:
    """What one value (or key) schema compiles into."""

    __slots__ = ("name", "row", "schema")

    def __init__(self, schema: ConnectSchema | None, placeholder: str) -> None:
        self.schema = schema
        self.name = schema.name if schema is not None else None
        self.row: RowPlan | None = None
        if schema is None:
            return
        row_schema = schema.get_field("after") or schema.get_field("before")
        if row_schema is not None and row_schema.type == "struct":
            self.row = row_plan(row_schema, placeholder)
        elif schema.type == "struct" and schema.get_field("op") is None:
            self.row = row_plan(schema, placeholder)  # a key: the struct itself


class Decoder:
    """Decode Debezium records into :data:`Event` objects.

    ``schema_lookup`` resolves Avro schema ids (required only for Avro records); ``hints`` gives
    semantic types of columns for JSON records without schemas, per ``schema.table``;
    ``heartbeat_topic_prefix`` and ``unavailable_placeholder`` follow the connector's settings of
    the same names. Compiled schemas are cached (``cache_size`` distinct schemas per format).
    """

    def __init__(
        self,
        *,
        schema_lookup: SchemaLookup | None = None,
        hints: Mapping[str, Mapping[str, ConnectSchema]] | None = None,
        heartbeat_topic_prefix: str = "__debezium-heartbeat",
        unavailable_placeholder: str = "__debezium_unavailable_value",
        cache_size: int = 512,
    ) -> None:
        self._lookup = schema_lookup
        self._hints = {table: hinted_schema(columns) for table, columns in (hints or {}).items()}
        self._heartbeat_prefix = heartbeat_topic_prefix
        self._placeholder = unavailable_placeholder
        self._cache_size = cache_size
        self._json_plans: dict[bytes, _Plan] = {}
        # Per kind ("key", "value"): the head (up to the payload) of the last JSON record with a
        # schema, and its plan. A topic's records mostly repeat their schema.
        self._last_json: dict[str, tuple[bytes, _Plan]] = {}
        self._avro: dict[int, tuple[Any, _Plan]] = {}
        self._hint_plans: dict[str, _Plan] = {}
        self._no_schema = _Plan(None, unavailable_placeholder)

    # -- entry points -------------------------------------------------------------------------

    def decode(self, message: MessageLike) -> Event:
        """Decode one record; raise :class:`DecodeError` naming what is wrong and where."""
        position: Position = PositionTwin(  # type: ignore[assignment]
            message.topic() or "", message.partition() or 0, message.offset() or 0
        )
        try:
            return self._decode(message.key(), message.value(), position)
        except DecodeError as error:
            raise error.at(position) from None

    def decode_parts(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        partition: int = 0,
        offset: int = 0,
    ) -> Event:
        """Decode a record given as its parts (for frameworks that hand over bytes)."""
        position: Position = PositionTwin(topic, partition, offset)  # type: ignore[assignment]
        try:
            return self._decode(key, value, position)
        except DecodeError as error:
            raise error.at(position) from None

    # -- formats --------------------------------------------------------------------------------

    def _decode(self, key: bytes | None, value: bytes | None, position: Position) -> Event:
        if value is None:
            return Tombstone(key=self._key(key, None), position=position)
        payload, plan = self._payload(value, "value")
        if not isinstance(payload, dict):
            raise DecodeError(f"expected a JSON object or Avro record, got {_kind(payload)}")
        op = payload.get("op")
        if op is not None:
            return self._envelope(payload, plan, key, position)
        if plan.name == _HEARTBEAT_SCHEMA or position.topic.startswith(self._heartbeat_prefix):
            key_row = self._key(key, None)
            return Heartbeat(
                ts_ms=_int(payload.get("ts_ms"), "ts_ms"),
                server_name=None if key_row is None else key_row.get("serverName"),
                position=position,
            )
        if plan.name == _TRANSACTION_SCHEMA or (
            payload.get("status") in ("BEGIN", "END") and "id" in payload
        ):
            return _transaction(payload, position)
        if "ddl" in payload or "tableChanges" in payload:
            return _schema_change(payload, position)
        raise DecodeError(
            "not a Debezium record: no 'op', and not a heartbeat, transaction or schema change"
        )

    def _payload(self, raw: bytes, what: str) -> tuple[Any, _Plan]:
        if raw[:1] == b"\x00":
            return self._avro_payload(raw, what)
        last = self._last_json.get(what)
        # The record starts with the schema last seen and the separator after it, the first
        # separator in the record (which the slow path below cuts at): one comparison in place
        # instead of slicing and hashing ~2 KB of schema per record.
        if last is not None and raw.startswith(last[0]) and raw.endswith(b"}"):
            try:
                return orjson.loads(raw[len(last[0]) : -1]), last[1]
            except orjson.JSONDecodeError:
                pass  # said below
        if raw.startswith(_SCHEMA_PREFIX) and raw.endswith(b"}"):
            cut = raw.find(_PAYLOAD_SEPARATOR)
            if cut > 0:
                schema_bytes = raw[len(_SCHEMA_PREFIX) : cut]
                plan = self._json_plans.get(schema_bytes)
                if plan is None:
                    plan = self._compile_json(schema_bytes)
                if plan is not None:
                    head = raw[: cut + len(_PAYLOAD_SEPARATOR)]
                    self._last_json[what] = (head, plan)
                    return _loads(raw[len(head) : -1], what), plan
        document = _loads(raw, what)
        if isinstance(document, dict) and document.keys() == {"schema", "payload"}:
            schema = document["schema"]
            plan = (
                self._no_schema
                if schema is None
                else _Plan(from_connect_json(schema, f"{what}.schema"), self._placeholder)
            )
            return document["payload"], plan
        return document, self._no_schema

    def _compile_json(self, schema_bytes: bytes) -> _Plan | None:
        try:
            document = orjson.loads(schema_bytes)
        except orjson.JSONDecodeError:
            return None  # the separator was inside the schema: parse the whole record instead
        plan = _Plan(from_connect_json(document), self._placeholder)
        if len(self._json_plans) >= self._cache_size:
            self._json_plans.clear()
        self._json_plans[schema_bytes] = plan
        return plan

    def _avro_payload(self, raw: bytes, what: str) -> tuple[Any, _Plan]:
        if len(raw) < 5:
            raise DecodeError(f"Confluent wire-format {what} shorter than its 5-byte header")
        schema_id = int.from_bytes(raw[1:5], "big")
        compiled = self._avro.get(schema_id)
        if compiled is None:
            compiled = self._compile_avro(schema_id)
        parsed, plan = compiled
        try:
            document = fastavro.schemaless_reader(io.BytesIO(raw[5:]), parsed, None)
        except (EOFError, ValueError, TypeError, IndexError, UnicodeDecodeError) as error:
            raise DecodeError(
                f"Avro {what} does not match its writer schema {schema_id}: {error}"
            ) from None
        return document, plan

    def _compile_avro(self, schema_id: int) -> tuple[Any, _Plan]:
        if self._lookup is None:
            raise DecodeError(
                f"an Avro record (schema id {schema_id}) needs a schema_lookup; none was given"
            )
        try:
            text = self._lookup(schema_id)
        except SchemaUnavailable:
            raise
        except LookupError as error:
            raise DecodeError(f"unknown Avro schema id {schema_id}: {error}") from None
        try:
            document = orjson.loads(text)
            parsed = fastavro.parse_schema(document)
        except (orjson.JSONDecodeError, fastavro.schema.SchemaParseException) as error:
            raise DecodeError(f"Avro schema {schema_id} does not parse: {error}") from None
        compiled = (parsed, _Plan(from_avro(document), self._placeholder))
        if len(self._avro) >= self._cache_size:
            self._avro.clear()
        self._avro[schema_id] = compiled
        return compiled

    # -- kinds ----------------------------------------------------------------------------------

    def _key(self, raw: bytes | None, table: str | None) -> dict[str, Any] | None:
        if raw is None:
            return None
        document, plan = self._payload(raw, "key")
        if document is None:
            return None
        if not isinstance(document, dict):
            raise DecodeError(f"expected the key to be a JSON object, got {_kind(document)}")
        row = plan.row if plan.row is not None else self._hinted(table).row
        if row is not None and row.steps:
            row.apply(document, toast=False, path="key")
        return document

    def _hinted(self, table: str | None) -> _Plan:
        if table is None or table not in self._hints:
            return self._no_schema
        plan = self._hint_plans.get(table)
        if plan is None:
            plan = _Plan(self._hints[table], self._placeholder)
            plan.row = row_plan(self._hints[table], self._placeholder)
            self._hint_plans[table] = plan
        return plan

    def _envelope(
        self, payload: dict[str, Any], plan: _Plan, key: bytes | None, position: Position
    ) -> Event:
        op_code = payload["op"]
        source = _source(payload.get("source"))
        ts_ms = payload.get("ts_ms")
        raw_transaction = payload.get("transaction")
        transaction = None if raw_transaction is None else _transaction_ref(raw_transaction)
        op = _ROW_OPS.get(op_code)
        table = f"{source.schema}.{source.table}"
        if op is not None:
            row = plan.row if plan.row is not None else self._hinted(table).row
            before, after = payload.get("before"), payload.get("after")
            if row is not None:
                toast = op in _TOAST_OPS
                if before is not None:
                    row.apply(before, toast=toast, path="before")
                if after is not None:
                    row.apply(after, toast=toast, path="after")
            elif op in _TOAST_OPS:
                _mark_unavailable(before, self._placeholder)
                _mark_unavailable(after, self._placeholder)
            event: ChangeEvent = ChangeEventTwin(  # type: ignore[assignment]
                op,
                self._key(key, table),
                before,
                after,
                source,
                ts_ms,
                transaction,
                position,
                None if row is None else row.schema,
            )
            return event
        if op_code == "t":
            return TruncateEvent(
                source=source, ts_ms=ts_ms, transaction=transaction, position=position
            )
        if op_code == "m":
            message = payload.get("message")
            if not isinstance(message, dict):
                raise DecodeError("a logical message event needs a 'message' object")
            content = message.get("content")
            try:
                data = content if isinstance(content, bytes) else _b64(content or "")
            except (ValueError, binascii.Error):
                raise DecodeError("content is not base64", field="message.content") from None
            return MessageEvent(
                prefix=str(message.get("prefix") or ""),
                content=data,
                transactional=source.tx_id is not None,
                source=source,
                ts_ms=ts_ms,
                position=position,
            )
        raise DecodeError(f"unknown op {op_code!r} (expected one of c, u, d, r, t, m)", field="op")


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _loads(raw: bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise DecodeError(
            f"{what} is neither JSON nor Confluent wire-format Avro: {error}"
        ) from None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _int(value: Any, field: str) -> int:
    if not isinstance(value, int):
        raise DecodeError(f"expected an integer, got {_kind(value)}", field=field)
    return value


def _source(raw: Any) -> Source:
    if not isinstance(raw, dict):
        raise DecodeError("a change event needs a 'source' object", field="source")
    commit_lsn = None
    sequence = raw.get("sequence")
    if isinstance(sequence, str):  # the usual '["123","456"]', or '[null,"456"]' at first
        if sequence[:2] == '["':
            digits = sequence.split('"', 2)[1]
            if digits.isdigit():
                commit_lsn = int(digits)
                sequence = None
        elif sequence[:7] == '[null,"' and sequence[-2:] == '"]':
            sequence = None
    if isinstance(sequence, str):
        try:
            parsed = orjson.loads(sequence)
            if isinstance(parsed, list) and parsed and parsed[0] is not None:
                commit_lsn = int(parsed[0])
        except (orjson.JSONDecodeError, ValueError):
            raise DecodeError(f"not a JSON list: {sequence!r}", field="source.sequence") from None
    try:  # PostgreSQL's source block has each of these: subscripts are the fast way
        connector, name, db, version = raw["connector"], raw["name"], raw["db"], raw["version"]
        schema, table, snapshot = raw["schema"], raw["table"], raw["snapshot"]
        ts_ms, lsn, tx_id = raw["ts_ms"], raw["lsn"], raw["txId"]
    except KeyError:  # other connectors'
        get = raw.get
        connector, name, db, version = (
            get("connector", ""),
            get("name", ""),
            get("db", ""),
            get("version", ""),
        )
        schema, table, snapshot = get("schema"), get("table"), get("snapshot")
        ts_ms, lsn, tx_id = get("ts_ms"), get("lsn"), get("txId")
    source: Source = SourceTwin(  # type: ignore[assignment]
        str(connector),
        str(name),
        str(db),
        schema,
        table,
        ts_ms or 0,
        None if snapshot is None else str(snapshot),
        lsn,
        commit_lsn,
        tx_id,
        str(version),
        raw,
    )
    return source


def _transaction_ref(raw: Any) -> TransactionRef | None:
    if not isinstance(raw, dict):
        return None
    return TransactionRef(
        id=str(raw.get("id")),
        total_order=int(raw.get("total_order") or 0),
        data_collection_order=int(raw.get("data_collection_order") or 0),
    )


def _transaction(payload: dict[str, Any], position: Position) -> TransactionEvent:
    collections = payload.get("data_collections") or []
    return TransactionEvent(
        status="BEGIN" if payload["status"] == "BEGIN" else "END",
        id=str(payload["id"]),
        event_count=payload.get("event_count"),
        data_collections={
            str(c.get("data_collection")): int(c.get("event_count") or 0) for c in collections
        },
        ts_ms=_int(payload.get("ts_ms"), "ts_ms"),
        position=position,
    )


def _schema_change(payload: dict[str, Any], position: Position) -> SchemaChange:
    changes = []
    for i, change in enumerate(payload.get("tableChanges") or []):
        if not isinstance(change, dict):
            raise DecodeError("expected an object", field=f"tableChanges[{i}]")
        table = change.get("table") or {}
        changes.append(
            TableChange(
                type=str(change.get("type")),
                id=str(change.get("id")),
                primary_key=tuple(table.get("primaryKeyColumnNames") or ()),
                columns=tuple(table.get("columns") or ()),
            )
        )
    raw_source = payload.get("source")
    return SchemaChange(
        database=payload.get("databaseName"),
        schema=payload.get("schemaName"),
        ddl=payload.get("ddl"),
        table_changes=tuple(changes),
        source=_source(raw_source) if isinstance(raw_source, dict) else None,
        ts_ms=payload.get("ts_ms"),
        position=position,
    )


def _mark_unavailable(row: dict[str, Any] | None, placeholder: str) -> None:
    if row is None:
        return
    for name, value in row.items():
        if value in (placeholder, [placeholder]):
            row[name] = UNAVAILABLE
