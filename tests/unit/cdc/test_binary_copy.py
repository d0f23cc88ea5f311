"""Rows are staged in binary only when every value's binary form is its column's type."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from eventyard.cdc._binary_copy import fits_binary

# Type oids (pg_type)
BOOL, INT8, INT4, TEXT, FLOAT8, DATE = 16, 20, 23, 25, 701, 1082
TIMESTAMP, TIMESTAMPTZ, NUMERIC, UUID_, JSONB = 1114, 1184, 1700, 2950, 3802
AWARE = datetime(2026, 5, 1, 10, tzinfo=UTC)
NAIVE = datetime(2026, 5, 1, 10)


def test_rows_of_the_columns_own_types_and_nulls_fit() -> None:
    oids = (INT8, INT4, TEXT, FLOAT8, NUMERIC, TIMESTAMPTZ, TIMESTAMP, DATE, UUID_, BOOL)
    rows = [
        (1, 2, "a", 0.5, Decimal("1.25"), AWARE, NAIVE, date(2026, 1, 1), UUID(int=1), True),
        (2, None, None, None, 7, None, None, None, None, None),  # an int is a numeric too
    ]
    assert fits_binary(oids, rows)


@pytest.mark.parametrize(
    ("oid", "value"),
    [
        (INT8, True),  # a bool is an int to Python, not to PostgreSQL
        (INT8, Decimal(1)),
        (INT4, "1"),
        (NUMERIC, 0.1),  # a float's binary expansion is not what its text says
        (TEXT, Decimal("1.5")),
        (TIMESTAMPTZ, NAIVE),  # text reads it in the session's time zone
        (TIMESTAMP, AWARE),  # text drops the offset
        (DATE, NAIVE),
        (UUID_, "00000000-0000-0000-0000-000000000001"),
        (JSONB, '{"a": 1}'),  # not a type binary staging knows
        (0, 1),  # a column the table does not have
    ],
)
def test_any_other_value_sends_the_rows_as_text(oid: int, value: object) -> None:
    assert not fits_binary((INT8, oid), [(1, None), (2, value)])


def test_no_rows_are_not_staged_in_binary() -> None:
    assert not fits_binary((INT8,), [])
