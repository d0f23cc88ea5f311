"""Round trips: a row written the way Debezium writes it (JSON with schemas, JSON without
schemas plus hints, Avro in Confluent's wire format) decodes back to the same Python values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from eventyard.cdc import ChangeEvent, ConnectSchema, Decoder
from eventyard.cdc.testing import (
    avro_change_value,
    avro_envelope_schema,
    change_record,
    column,
    frame_avro,
    message,
)

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def _decimals(draw: st.DrawFn, scale: int) -> Decimal:
    unscaled = draw(st.integers(min_value=-(10**30), max_value=10**30))
    return Decimal(unscaled).scaleb(-scale)


_naive = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
_aware = st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.just(UTC),
)

COLUMNS: dict[str, tuple[ConnectSchema, Any]] = {
    "id": (column("int64", optional=False), st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    "price": (column("decimal", scale=4), _decimals(4)),
    "ratio": (column("varscale"), st.integers(0, 12).flatmap(_decimals)),
    "day": (column("date"), st.dates()),
    "at_ms": (
        column("time"),
        st.times().map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000)),
    ),
    "at_us": (column("micro_time"), st.times()),
    "at_ns": (column("nano_time"), st.times()),
    "stamp_ms": (
        column("timestamp"),
        _naive.map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000)),
    ),
    "stamp_us": (column("micro_timestamp"), _naive),
    "stamp_ns": (column("nano_timestamp"), _naive.filter(lambda d: 1680 < d.year < 2260)),
    "zoned": (column("zoned_timestamp"), _aware),
    "zoned_time": (column("zoned_time"), st.times(timezones=st.just(UTC))),
    "span": (
        column("interval"),
        st.timedeltas(min_value=timedelta(days=-(10**6)), max_value=timedelta(days=10**6)),
    ),
    "doc": (column("json"), _json),
    "uid": (column("uuid"), st.uuids()),
    "blob": (column("bytes"), st.binary(max_size=20)),
    "ints": (
        column("int_array"),
        st.lists(st.none() | st.integers(-(2**31), 2**31 - 1), max_size=5),
    ),
    "texts": (column("text_array"), st.lists(st.none() | st.text(max_size=5), max_size=5)),
    "label": (column("string"), st.text(max_size=20)),
}
SCHEMAS = {name: schema for name, (schema, _) in COLUMNS.items()}
ROWS = st.fixed_dictionaries(
    {name: strategy for name, (_, strategy) in COLUMNS.items()},
)
NULLABLE_ROWS = ROWS.flatmap(
    lambda row: st.fixed_dictionaries(
        {
            name: st.just(value) if name == "id" else st.just(value) | st.none()
            for name, value in row.items()
        }
    )
)


@settings(max_examples=150, deadline=None)
@given(row=NULLABLE_ROWS, op=st.sampled_from(["c", "r", "u"]))
def test_json_with_schemas_round_trip(row: dict[str, Any], op: str) -> None:
    key, value = change_record(table="public.kinds", op=op, columns=SCHEMAS, after=row)
    event = Decoder().decode(message("t", value, key=key))
    assert isinstance(event, ChangeEvent)
    assert event.after == row
    assert event.key == {"id": row["id"]}


@settings(max_examples=100, deadline=None)
@given(row=ROWS)
def test_json_without_schemas_and_hints_round_trip(row: dict[str, Any]) -> None:
    key, value = change_record(
        table="public.kinds", op="c", columns=SCHEMAS, after=row, schemas=False
    )
    decoder = Decoder(hints={"public.kinds": SCHEMAS})
    event = decoder.decode(message("t", value, key=key))
    assert isinstance(event, ChangeEvent)
    assert event.after == row


AVRO_COLUMNS = {
    n: s
    for n, s in SCHEMAS.items()
    if n not in ("ratio",)  # VariableScaleDecimal: JSON only here
}


@settings(max_examples=100, deadline=None)
@given(row=ROWS)
def test_avro_wire_format_round_trip(row: dict[str, Any]) -> None:
    row = {n: v for n, v in row.items() if n in AVRO_COLUMNS}
    schema = avro_envelope_schema("public.kinds", AVRO_COLUMNS)
    value = avro_change_value(table="public.kinds", op="c", columns=AVRO_COLUMNS, after=row)
    decoder = Decoder(schema_lookup=lambda _id: json.dumps(schema))
    event = decoder.decode(message("t", frame_avro(1, schema, value)))
    assert isinstance(event, ChangeEvent)
    expected = dict(row)
    # Avro decimals carry the column's scale: 1.5 comes back as 1.5000, equal in value.
    assert event.after == expected


@given(st.integers(min_value=0, max_value=86_399_999_999))
def test_micro_time_is_exact_to_the_microsecond(micros: int) -> None:
    key, value = change_record(
        table="public.t",
        op="c",
        columns={"id": column("int64"), "t": column("micro_time")},
        after={"id": 1, "t": (datetime(2000, 1, 1) + timedelta(microseconds=micros)).time()},
    )
    event = Decoder().decode(message("t", value, key=key))
    assert isinstance(event, ChangeEvent)
    t = event.after["t"]  # type: ignore[index]
    assert isinstance(t, time)
    assert ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond == micros
