"""The rules of the SKU statistics: which change counts, how many units, which minute.

An order counts once, when its row is first seen ``APPROVED``; its lines (``[{"sku",
"quantity"}, ...]``) give the units per SKU, and its ``updated_at`` (the approval's time) the
minute. Later changes of an approved order, and replays of the same change, are recognised by
the order id (see :mod:`eventyard_order_history.adapters.sku_stats`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["APPROVED", "approved_units", "minute_of"]

APPROVED = "APPROVED"


def approved_units(row: Mapping[str, Any]) -> dict[str, int] | None:
    """Units per SKU of an approved order's row; None when the row is not approved or its lines
    are not there (an unchanged TOASTed value, or not a list of lines)."""
    if row.get("status") != APPROVED:
        return None
    lines = row.get("lines")
    if not isinstance(lines, list):
        return None
    units: dict[str, int] = {}
    for line in lines:
        if not isinstance(line, Mapping):
            return None
        sku, quantity = line.get("sku"), line.get("quantity")
        if not isinstance(sku, str) or not isinstance(quantity, int) or isinstance(quantity, bool):
            return None
        units[sku] = units.get(sku, 0) + quantity
    return units


def minute_of(seconds: float) -> datetime:
    """The start (UTC) of the minute holding ``seconds`` since the epoch."""
    return datetime.fromtimestamp(seconds - seconds % 60, tz=UTC)
