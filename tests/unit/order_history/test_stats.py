"""The SKU statistics' rules: an order's units count once, when it is first seen APPROVED, in
the minute of its approval."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from eventyard.cdc import ChangeEvent, Decoder
from eventyard.cdc.testing import change_record, column, message
from eventyard_order_history.adapters.sku_stats import parse_unit_key, tally, unit_key
from eventyard_order_history.domain.stats import approved_units, minute_of

COLUMNS = {
    "id": column("uuid", optional=False),
    "status": column("string"),
    "lines": column("json"),
    "updated_at": column("zoned_timestamp"),
}
APPROVED_AT = datetime(2026, 5, 1, 10, 31, 42, tzinfo=UTC)
MINUTE = int(datetime(2026, 5, 1, 10, 31, tzinfo=UTC).timestamp())


def _change(op: str, row: dict[str, Any], offset: int = 0) -> ChangeEvent:
    key, value = change_record(table="public.orders", op=op, columns=COLUMNS, after=row)
    event = Decoder().decode(
        message("shop.cdc.orders.public.orders", value, key=key, offset=offset)
    )
    assert isinstance(event, ChangeEvent)
    return event


def _order(status: str, lines: Any, **extra: Any) -> dict[str, Any]:
    return {"id": uuid4(), "status": status, "lines": lines, "updated_at": APPROVED_AT, **extra}


LINES = [
    {"sku": "mug", "quantity": 2},
    {"sku": "tee", "quantity": 1},
    {"sku": "mug", "quantity": 3},
]


def test_approved_units_sum_the_lines_per_sku() -> None:
    assert approved_units({"status": "APPROVED", "lines": LINES}) == {"mug": 5, "tee": 1}
    assert approved_units({"status": "PENDING", "lines": LINES}) is None
    assert approved_units({"status": "APPROVED", "lines": []}) == {}


@pytest.mark.parametrize(
    "lines",
    [
        None,
        "__debezium_unavailable_value",
        [{"sku": "mug"}],
        [{"sku": 7, "quantity": 1}],
        [{"sku": "mug", "quantity": True}],
        ["mug"],
    ],
)
def test_unreadable_lines_count_nothing(lines: Any) -> None:
    assert approved_units({"status": "APPROVED", "lines": lines}) is None


def test_minute_of_is_the_start_of_the_utc_minute() -> None:
    assert minute_of(APPROVED_AT.timestamp()) == datetime(2026, 5, 1, 10, 31, tzinfo=UTC)


def test_an_order_counts_once_when_approved() -> None:
    counted: dict[str, int] = {}
    units: dict[str, int] = {}
    order = _order("PENDING", LINES)
    assert not tally(_change("c", order), counted, units)
    approved = {**order, "status": "APPROVED"}
    assert tally(_change("u", approved, 1), counted, units)
    assert units == {unit_key(MINUTE, "mug"): 5, unit_key(MINUTE, "tee"): 1}
    assert counted == {str(order["id"]): MINUTE}
    # the same change replayed by Debezium, a later change, a snapshot read: counted already
    assert not tally(_change("u", approved, 2), counted, units)
    assert not tally(_change("r", approved, 3), counted, units)
    assert units == {unit_key(MINUTE, "mug"): 5, unit_key(MINUTE, "tee"): 1}


def test_orders_add_up_per_sku_and_minute() -> None:
    counted: dict[str, int] = {}
    units: dict[str, int] = {}
    later = datetime(2026, 5, 1, 10, 32, 5, tzinfo=UTC)
    tally(_change("c", _order("APPROVED", LINES)), counted, units)
    tally(_change("c", _order("APPROVED", [{"sku": "mug", "quantity": 1}])), counted, units)
    tally(_change("c", _order("APPROVED", LINES, updated_at=later)), counted, units)
    tally(_change("c", _order("REJECTED", LINES)), counted, units)
    assert units == {
        unit_key(MINUTE, "mug"): 6,
        unit_key(MINUTE, "tee"): 1,
        unit_key(MINUTE + 60, "mug"): 5,
        unit_key(MINUTE + 60, "tee"): 1,
    }
    assert len(counted) == 3


def test_unit_keys_round_trip() -> None:
    assert parse_unit_key(unit_key(MINUTE, 'a|"b"')) == (MINUTE, 'a|"b"')
