"""Semantic types: raw JSON or Avro values -> Python values, chosen by the Connect schema.

Each schema node compiles once into a converter (or None when the raw value is already right);
a row schema compiles into a :class:`RowPlan` that converts a decoded row in place.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import orjson

from eventyard.cdc._events import UNAVAILABLE
from eventyard.cdc._exceptions import DecodeError
from eventyard.cdc._schema import ConnectField, ConnectSchema

__all__ = [
    "DATE",
    "DECIMAL",
    "JSON",
    "MICRO_DURATION",
    "MICRO_TIME",
    "MICRO_TIMESTAMP",
    "NANO_TIME",
    "NANO_TIMESTAMP",
    "TIME",
    "TIMESTAMP",
    "UUID_NAME",
    "VARIABLE_SCALE_DECIMAL",
    "ZONED_TIME",
    "ZONED_TIMESTAMP",
    "Converter",
    "RowPlan",
    "converter_for",
    "hinted_schema",
    "row_plan",
]

Converter = Callable[[Any], Any]

DATE = "io.debezium.time.Date"
TIME = "io.debezium.time.Time"
MICRO_TIME = "io.debezium.time.MicroTime"
NANO_TIME = "io.debezium.time.NanoTime"
TIMESTAMP = "io.debezium.time.Timestamp"
MICRO_TIMESTAMP = "io.debezium.time.MicroTimestamp"
NANO_TIMESTAMP = "io.debezium.time.NanoTimestamp"
ZONED_TIMESTAMP = "io.debezium.time.ZonedTimestamp"
ZONED_TIME = "io.debezium.time.ZonedTime"
MICRO_DURATION = "io.debezium.time.MicroDuration"
DECIMAL = "org.apache.kafka.connect.data.Decimal"
VARIABLE_SCALE_DECIMAL = "io.debezium.data.VariableScaleDecimal"
JSON = "io.debezium.data.Json"
UUID_NAME = "io.debezium.data.Uuid"
_CONNECT_DATE = "org.apache.kafka.connect.data.Date"
_CONNECT_TIME = "org.apache.kafka.connect.data.Time"
_CONNECT_TIMESTAMP = "org.apache.kafka.connect.data.Timestamp"
_ENUM_SET = "io.debezium.data.EnumSet"
_SOURCE_TYPE = "__debezium.source.column.type"
_NUMERIC_SOURCE_TYPES = frozenset({"NUMERIC", "DECIMAL", "MONEY"})

_EPOCH = datetime(1970, 1, 1)  # Debezium's local timestamps carry no zone
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")
_UTC_MAX = datetime.max.replace(tzinfo=UTC)
_UTC_MIN = datetime.min.replace(tzinfo=UTC)


def _b64(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    return binascii.a2b_base64(value, strict_mode=True)


def _decimal(scale: int) -> Converter:
    exponent = f"E{-scale}"
    from_bytes = int.from_bytes
    a2b_base64 = binascii.a2b_base64

    def convert(value: Any) -> Decimal:
        if value.__class__ is str:  # the JSON converter's base64
            raw = a2b_base64(value, strict_mode=True)
        elif isinstance(value, Decimal):
            return value
        else:
            raw = _b64(value)
        return Decimal(f"{from_bytes(raw, 'big', signed=True)}{exponent}")  # exact: no rounding

    return convert


def _variable_scale_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    unscaled = int.from_bytes(_b64(value["value"]), "big", signed=True)
    return Decimal(f"{unscaled}E{-int(value['scale'])}")


def _decimal_text(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromordinal(_EPOCH_ORDINAL + value)


def _time_of_day(micros: int) -> time:
    seconds, micro = divmod(micros, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return time(hour % 24, minute, second, micro)  # PostgreSQL's 24:00:00 reads as 00:00:00


def _time_ms(value: Any) -> time:
    return value if isinstance(value, time) else _time_of_day(value * 1000)


def _time_us(value: Any) -> time:
    return _time_of_day(value)


def _time_ns(value: Any) -> time:
    return _time_of_day(value // 1000)  # Python keeps microseconds


def _naive(micros: int) -> datetime:
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:  # 'infinity' timestamps
        return datetime.max if micros > 0 else datetime.min


def _timestamp_ms(value: Any) -> datetime:
    if isinstance(value, datetime):  # Avro timestamp-millis, read by fastavro as UTC
        return value.replace(tzinfo=None)
    return _naive(value * 1000)


def _timestamp_us(value: Any) -> datetime:
    return _naive(value)


def _timestamp_ns(value: Any) -> datetime:
    return _naive(value // 1000)


def _zoned_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if value == "infinity":
        return _UTC_MAX
    if value == "-infinity":
        return _UTC_MIN
    try:
        return datetime.fromisoformat(value)
    except ValueError:  # more than 6 fraction digits (nanoseconds): Python keeps microseconds
        return datetime.fromisoformat(_LONG_FRACTION.sub(r"\1", value))


def _zoned_time(value: Any) -> time:
    if isinstance(value, time):
        return value
    return time.fromisoformat(_LONG_FRACTION.sub(r"\1", value))


def _duration(value: Any) -> timedelta:
    return timedelta(microseconds=value)


def _json(value: Any) -> Any:
    return orjson.loads(value)


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _enum_set(value: Any) -> tuple[str, ...]:
    return tuple(value.split(",")) if value else ()


_BY_NAME: dict[str, Converter] = {
    DATE: _date,
    _CONNECT_DATE: _date,
    TIME: _time_ms,
    _CONNECT_TIME: _time_ms,
    MICRO_TIME: _time_us,
    NANO_TIME: _time_ns,
    TIMESTAMP: _timestamp_ms,
    _CONNECT_TIMESTAMP: _timestamp_ms,
    MICRO_TIMESTAMP: _timestamp_us,
    NANO_TIMESTAMP: _timestamp_ns,
    ZONED_TIMESTAMP: _zoned_timestamp,
    ZONED_TIME: _zoned_time,
    MICRO_DURATION: _duration,
    VARIABLE_SCALE_DECIMAL: _variable_scale_decimal,
    JSON: _json,
    UUID_NAME: _uuid,
    _ENUM_SET: _enum_set,
}


def converter_for(schema: ConnectSchema) -> Converter | None:  # noqa: PLR0911 - a dispatch
    """The converter of one value of ``schema``; None when the raw value is already right."""
    name = schema.name
    if name == DECIMAL:
        return _decimal(int(schema.parameters.get("scale", "0")))
    if name is not None and name in _BY_NAME:
        return _BY_NAME[name]
    if schema.type == "string" and schema.parameters.get(_SOURCE_TYPE) in _NUMERIC_SOURCE_TYPES:
        return _decimal_text  # decimal.handling.mode=string with column.propagate.source.type
    if schema.type == "bytes":
        return _b64
    if schema.type == "array" and schema.items is not None:
        inner = converter_for(schema.items)
        if inner is None:
            return None
        return lambda values: [None if v is None else inner(v) for v in values]
    if schema.type == "map" and schema.values is not None:
        inner_value = converter_for(schema.values)
        if inner_value is None:
            return None
        return lambda entries: {
            k: None if v is None else inner_value(v) for k, v in entries.items()
        }
    if schema.type == "struct" and schema.fields:
        plan = row_plan(schema)
        if not plan.steps:
            return None
        return lambda struct: plan.apply(dict(struct), toast=False, path="")
    return None


class RowPlan:
    """Converts the rows of one struct schema in place.

    ``steps`` convert fields whose raw value needs it; ``toast_steps`` also look for Debezium's
    unavailable-value placeholder (snapshot reads never carry it).
    """

    __slots__ = ("raw_placeholder", "schema", "steps", "toast_steps")

    def __init__(self, schema: ConnectSchema, placeholder: str) -> None:
        self.schema = schema
        self.raw_placeholder = placeholder.encode()  # Avro bytes columns carry it unencoded
        steps: list[tuple[str, Converter]] = []
        toast_steps: list[tuple[str, tuple[object, ...] | None, Converter | None]] = []
        encoded = base64.b64encode(placeholder.encode()).decode()
        for field in schema.fields:
            convert = converter_for(field.schema)
            if convert is not None:
                steps.append((field.name, convert))
            kind = field.schema.type
            if kind == "string":
                toast_steps.append((field.name, (placeholder,), convert))
            elif kind == "bytes":  # base64 in JSON; Avro bytes columns carry it unencoded
                toast_steps.append((field.name, (encoded, self.raw_placeholder), convert))
            elif kind == "array":
                toast_steps.append((field.name, ([placeholder],), convert))
            elif convert is not None:
                toast_steps.append((field.name, None, convert))
        self.steps = tuple(steps)
        self.toast_steps = tuple(toast_steps)

    def apply(self, row: dict[str, Any], *, toast: bool, path: str) -> dict[str, Any]:
        """Convert ``row`` in place (and return it); ``toast`` looks for the placeholder too."""
        name = ""
        try:
            if toast:
                for name, markers, convert in self.toast_steps:
                    value = row.get(name)
                    if value is None:
                        continue
                    if markers is not None and value in markers:
                        row[name] = UNAVAILABLE
                    elif convert is not None:
                        row[name] = convert(value)
            else:
                for name, convert in self.steps:
                    value = row.get(name)
                    if value is not None:
                        row[name] = convert(value)
        except DecodeError as error:
            raise error.within(f"{path}.{name}" if path else name) from None
        except (ValueError, TypeError, KeyError, OverflowError, binascii.Error) as error:
            semantic = _describe(self.schema.get_field(name))
            raise DecodeError(
                f"cannot read {row.get(name)!r} as {semantic}: {error}",
                field=f"{path}.{name}" if path else name,
            ) from None
        except InvalidOperation:
            raise DecodeError(
                f"cannot read {row.get(name)!r} as a decimal",
                field=f"{path}.{name}" if path else name,
            ) from None
        return row


def _describe(schema: ConnectSchema | None) -> str:
    if schema is None:
        return "a value"
    return schema.name or schema.type


def row_plan(schema: ConnectSchema, placeholder: str = "__debezium_unavailable_value") -> RowPlan:
    """Compile the row conversion of a struct schema."""
    return RowPlan(schema, placeholder)


def hinted_schema(columns: Mapping[str, ConnectSchema]) -> ConnectSchema:
    """A struct schema made of per-column hints (for records without schemas)."""
    return ConnectSchema(
        type="struct", fields=tuple(ConnectField(n, s) for n, s in columns.items())
    )
