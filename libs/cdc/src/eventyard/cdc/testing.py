"""Helpers for tests of code that consumes Debezium events (yours and ours).

- :func:`encode_row_value` / :func:`change_record`: write Python values the way Debezium's JSON
  converter does (the inverse of the decoder), so handlers can be unit-tested on realistic bytes.
- :func:`avro_envelope_schema` / :func:`frame_avro`: the same events as Avro in Confluent's wire
  format, with the ``connect.name`` annotations Connect's Avro converter writes.
- :func:`message`: a ``confluent_kafka.Message`` built in memory.
"""

from __future__ import annotations

import base64
import io
import struct
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import fastavro
import orjson
from confluent_kafka import Message

from eventyard.cdc._schema import ConnectField, ConnectSchema
from eventyard.cdc._semantic import (
    DATE,
    DECIMAL,
    JSON,
    MICRO_DURATION,
    MICRO_TIME,
    MICRO_TIMESTAMP,
    NANO_TIME,
    NANO_TIMESTAMP,
    TIME,
    TIMESTAMP,
    UUID_NAME,
    VARIABLE_SCALE_DECIMAL,
    ZONED_TIME,
    ZONED_TIMESTAMP,
)

__all__ = [
    "avro_change_value",
    "avro_envelope_schema",
    "change_record",
    "column",
    "encode_row_value",
    "frame_avro",
    "message",
]

_EPOCH = datetime(1970, 1, 1)  # Debezium's local timestamps carry no zone
_EPOCH_DATE = date(1970, 1, 1)


def column(kind: str, *, optional: bool = True, scale: int | None = None) -> ConnectSchema:
    """A column schema by short name: ``int32``, ``int64``, ``string``, ``boolean``, ``double``,
    ``bytes``, ``decimal`` (with ``scale``), ``varscale``, ``date``, ``time``, ``micro_time``,
    ``nano_time``, ``timestamp``, ``micro_timestamp``, ``nano_timestamp``, ``zoned_timestamp``,
    ``zoned_time``, ``interval``, ``json``, ``uuid``, ``int_array``, ``text_array``."""
    named = {
        "decimal": ("bytes", DECIMAL),
        "varscale": ("struct", VARIABLE_SCALE_DECIMAL),
        "date": ("int32", DATE),
        "time": ("int32", TIME),
        "micro_time": ("int64", MICRO_TIME),
        "nano_time": ("int64", NANO_TIME),
        "timestamp": ("int64", TIMESTAMP),
        "micro_timestamp": ("int64", MICRO_TIMESTAMP),
        "nano_timestamp": ("int64", NANO_TIMESTAMP),
        "zoned_timestamp": ("string", ZONED_TIMESTAMP),
        "zoned_time": ("string", ZONED_TIME),
        "interval": ("int64", MICRO_DURATION),
        "json": ("string", JSON),
        "uuid": ("string", UUID_NAME),
    }
    if kind in named:
        connect_type, name = named[kind]
        parameters = {"scale": str(scale or 0)} if kind == "decimal" else {}
        fields: tuple[ConnectField, ...] = ()
        if kind == "varscale":
            fields = (
                ConnectField("scale", ConnectSchema(type="int32", optional=False)),
                ConnectField("value", ConnectSchema(type="bytes", optional=False)),
            )
        return ConnectSchema(
            type=connect_type, name=name, optional=optional, parameters=parameters, fields=fields
        )
    if kind in ("int_array", "text_array"):
        item = ConnectSchema(type="int32" if kind == "int_array" else "string")
        return ConnectSchema(type="array", items=item, optional=optional)
    return ConnectSchema(type=kind, optional=optional)


def _unscaled(value: Decimal, scale: int) -> bytes:
    unscaled = int(value.scaleb(scale))
    length = max(1, (unscaled.bit_length() + 8) // 8)
    return unscaled.to_bytes(length, "big", signed=True)


def _micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _time_micros(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def encode_row_value(  # noqa: PLR0911, PLR0912 - one branch per semantic type
    value: Any, schema: ConnectSchema, *, binary: bool = False
) -> Any:
    """One Python value as Debezium writes it (``binary``: bytes stay bytes, as in Avro)."""
    if value is None:
        return None
    name = schema.name
    if name == DECIMAL:
        raw = _unscaled(value, int(schema.parameters.get("scale", "0")))
        return raw if binary else base64.b64encode(raw).decode()
    if name == VARIABLE_SCALE_DECIMAL:
        exponent = int(value.as_tuple().exponent)
        scale = max(0, -exponent)
        raw = _unscaled(value, scale)
        return {"scale": scale, "value": raw if binary else base64.b64encode(raw).decode()}
    if name == DATE:
        return (value - _EPOCH_DATE).days
    if name == TIME:
        return _time_micros(value) // 1000
    if name == MICRO_TIME:
        return _time_micros(value)
    if name == NANO_TIME:
        return _time_micros(value) * 1000
    if name == TIMESTAMP:
        return _micros(value - _EPOCH) // 1000
    if name == MICRO_TIMESTAMP:
        return _micros(value - _EPOCH)
    if name == NANO_TIMESTAMP:
        return _micros(value - _EPOCH) * 1000
    if name == ZONED_TIMESTAMP:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if name == ZONED_TIME:
        return value.isoformat().replace("+00:00", "Z")
    if name == MICRO_DURATION:
        return _micros(value)
    if name == JSON:
        return orjson.dumps(value).decode()
    if name == UUID_NAME:
        return str(value)
    if schema.type == "bytes":
        return value if binary else base64.b64encode(value).decode()
    if schema.type == "array" and schema.items is not None:
        items = schema.items
        return [encode_row_value(v, items, binary=binary) for v in value]
    if isinstance(value, UUID):
        return str(value)
    return value


def _connect_json(schema: ConnectSchema, name: str | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": schema.type, "optional": schema.optional}
    if schema.name:
        node["name"] = schema.name
    if schema.parameters:
        node["parameters"] = dict(schema.parameters)
    if schema.fields:
        node["fields"] = [_connect_json(f.schema, f.name) for f in schema.fields]
    if schema.items is not None:
        node["items"] = _connect_json(schema.items)
    if name is not None:
        node["field"] = name
    return node


def _row_schema(columns: Mapping[str, ConnectSchema], name: str) -> ConnectSchema:
    return ConnectSchema(
        type="struct", name=name, fields=tuple(ConnectField(n, s) for n, s in columns.items())
    )


def _source(
    table: str, lsn: int, commit_lsn: int | None, ts_ms: int, snapshot: str
) -> dict[str, Any]:
    schema, _, name = table.partition(".")
    return {
        "version": "3.6.1.Final",
        "connector": "postgresql",
        "name": "test",
        "ts_ms": ts_ms,
        "snapshot": snapshot,
        "db": "test",
        "sequence": orjson.dumps(
            [None if commit_lsn is None else str(commit_lsn), str(lsn)]
        ).decode(),
        "schema": schema,
        "table": name,
        "txId": 1,
        "lsn": lsn,
        "xmin": None,
    }


_REQUIRED_SOURCE = ("version", "connector", "name", "ts_ms", "db", "schema", "table")
_SOURCE_SCHEMA = ConnectSchema(
    type="struct",
    name="io.debezium.connector.postgresql.Source",
    optional=False,
    fields=tuple(
        ConnectField(
            n,
            ConnectSchema(
                type=t,
                optional=n
                not in ("version", "connector", "name", "ts_ms", "db", "schema", "table"),
            ),
        )
        for n, t in (
            ("version", "string"),
            ("connector", "string"),
            ("name", "string"),
            ("ts_ms", "int64"),
            ("snapshot", "string"),
            ("db", "string"),
            ("sequence", "string"),
            ("schema", "string"),
            ("table", "string"),
            ("txId", "int64"),
            ("lsn", "int64"),
            ("xmin", "int64"),
        )
    ),
)


def change_record(
    *,
    table: str,
    op: str,
    columns: Mapping[str, ConnectSchema],
    key: Sequence[str] = ("id",),
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    lsn: int = 1,
    commit_lsn: int | None = None,
    ts_ms: int = 1_700_000_000_000,
    snapshot: str = "false",
    schemas: bool = True,
) -> tuple[bytes, bytes]:
    """A change event as Debezium's JSON converter writes it: ``(key bytes, value bytes)``."""
    value_schema = _row_schema(columns, f"test.{table}.Value")
    key_schema = _row_schema({k: columns[k] for k in key}, f"test.{table}.Key")

    def encode(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return {n: encode_row_value(row.get(n), s) for n, s in columns.items() if n in row}

    row = after if after is not None else before
    key_payload = {k: encode_row_value((row or {}).get(k), columns[k]) for k in key}
    payload = {
        "before": encode(before),
        "after": encode(after),
        "source": _source(table, lsn, commit_lsn, ts_ms, snapshot),
        "transaction": None,
        "op": op,
        "ts_ms": ts_ms,
    }
    if not schemas:
        return orjson.dumps(key_payload), orjson.dumps(payload)
    envelope = ConnectSchema(
        type="struct",
        name=f"test.{table}.Envelope",
        optional=False,
        fields=(
            ConnectField("before", value_schema),
            ConnectField("after", value_schema),
            ConnectField("source", _SOURCE_SCHEMA),
            ConnectField("op", ConnectSchema(type="string", optional=False)),
            ConnectField("ts_ms", ConnectSchema(type="int64")),
        ),
    )
    key_bytes = orjson.dumps({"schema": _connect_json(key_schema), "payload": key_payload})
    value_bytes = orjson.dumps({"schema": _connect_json(envelope), "payload": payload})
    return key_bytes, value_bytes


# -- Avro ---------------------------------------------------------------------------------------

_AVRO_PRIMITIVE = {
    "int8": "int",
    "int16": "int",
    "int32": "int",
    "int64": "long",
    "float": "float",
    "double": "double",
    "boolean": "boolean",
    "string": "string",
    "bytes": "bytes",
}


def _avro(schema: ConnectSchema, name: str) -> Any:
    node: Any
    if schema.name == DECIMAL:
        scale = int(schema.parameters.get("scale", "0"))
        node = {
            "type": "bytes",
            "scale": scale,
            "precision": 38,
            "connect.version": 1,
            "connect.parameters": {"scale": str(scale)},
            "connect.name": DECIMAL,
            "logicalType": "decimal",
        }
    elif schema.type == "struct":
        node = {
            "type": "record",
            "name": name,
            "fields": [
                {"name": f.name, "type": _avro(f.schema, f"{name}_{f.name}")} for f in schema.fields
            ],
        }
        if schema.name:
            node["connect.name"] = schema.name
    elif schema.type == "array":
        assert schema.items is not None
        node = {"type": "array", "items": _avro(schema.items, f"{name}_item")}
    else:
        node = {"type": _AVRO_PRIMITIVE[schema.type]}
        if schema.name:
            node["connect.version"] = 1
            node["connect.name"] = schema.name
    if schema.optional:
        return ["null", node]
    return node


def avro_envelope_schema(table: str, columns: Mapping[str, ConnectSchema]) -> dict[str, Any]:
    """The Avro schema of ``table``'s change events, as Connect's Avro converter writes it."""
    value = _row_schema(columns, f"test.{table}.Value")
    value_avro = _avro(
        ConnectSchema(type="struct", name=value.name, fields=value.fields, optional=False), "Value"
    )
    return {
        "type": "record",
        "name": "Envelope",
        "namespace": f"test.{table}",
        "connect.name": f"test.{table}.Envelope",
        "fields": [
            {"name": "before", "type": ["null", value_avro], "default": None},
            {"name": "after", "type": ["null", "Value"], "default": None},
            {"name": "source", "type": _avro(_SOURCE_SCHEMA, "Source")},
            {"name": "op", "type": "string"},
            {"name": "ts_ms", "type": ["null", "long"], "default": None},
        ],
    }


def frame_avro(schema_id: int, schema: Mapping[str, Any], value: Mapping[str, Any]) -> bytes:
    """``value`` written with ``schema`` in Confluent's wire format (magic 0, 4-byte id)."""
    out = io.BytesIO()
    out.write(b"\x00" + struct.pack(">I", schema_id))
    fastavro.schemaless_writer(out, fastavro.parse_schema(dict(schema)), dict(value))
    return out.getvalue()


def avro_change_value(
    *,
    table: str,
    op: str,
    columns: Mapping[str, ConnectSchema],
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    lsn: int = 1,
    ts_ms: int = 1_700_000_000_000,
) -> dict[str, Any]:
    """A change event's value as a dict ready for :func:`frame_avro`."""

    def encode(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if row is None:
            return None
        return {n: encode_row_value(row.get(n), s, binary=True) for n, s in columns.items()}

    return {
        "before": encode(before),
        "after": encode(after),
        "source": _source(table, lsn, None, ts_ms, "false"),
        "op": op,
        "ts_ms": ts_ms,
    }


def message(
    topic: str,
    value: bytes | None,
    *,
    key: bytes | None = None,
    partition: int = 0,
    offset: int = 0,
) -> Message:
    """A ``confluent_kafka.Message`` built in memory."""
    return Message(topic=topic, partition=partition, offset=offset, key=key, value=value)
