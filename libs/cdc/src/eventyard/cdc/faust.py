"""faust-streaming helpers: Debezium topics read inside faust agents with :class:`Decoder`.

faust itself is not imported here (install the ``faust`` extra for apps)::

    orders = debezium_topic(app, "shop.public.orders")

    @app.agent(orders)
    async def count(stream):
        async for change in changes(stream):
            ...

:func:`changes` yields row changes and truncates (tombstones, heartbeats and transaction
records are skipped); :data:`current_change` holds the change being processed, so a windowed
table can be relative to a column of the row (:func:`row_time`) or to the source commit
(:func:`commit_time`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any

import structlog

from eventyard.cdc._decoder import Decoder
from eventyard.cdc._events import ChangeEvent, TableEvent, TruncateEvent
from eventyard.cdc._exceptions import DecodeError

__all__ = ["changes", "commit_time", "current_change", "debezium_topic", "row_time"]

_log = structlog.get_logger("eventyard.cdc.faust")

current_change: ContextVar[TableEvent | None] = ContextVar("current_change", default=None)
"""The change the agent is processing (set by :func:`changes`)."""


def debezium_topic(app: Any, *topics: str, **options: Any) -> Any:
    """A faust topic handing raw bytes through, for :func:`changes` to decode."""
    return app.topic(
        *topics,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        **options,
    )


async def changes(
    stream: Any,
    *,
    decoder: Decoder | None = None,
    tables: Collection[str] | None = None,
    on_error: Callable[[DecodeError], None] | None = None,
) -> AsyncIterator[TableEvent]:
    """Decoded row changes (and truncates) of a faust stream over a :func:`debezium_topic`.

    ``tables`` keeps only those ``schema.table``; a record that does not decode goes to
    ``on_error`` (by default it is logged and skipped: faust has no dead-letter topic).
    """
    decoder = decoder or Decoder()
    async for event in stream.events():
        message = event.message
        try:
            decoded = decoder.decode_parts(
                message.topic,
                message.key,
                message.value,
                partition=message.partition,
                offset=message.offset,
            )
        except DecodeError as error:
            if on_error is None:
                _log.warning("undecodable record skipped", error=str(error))
            else:
                on_error(error)
            continue
        if not isinstance(decoded, ChangeEvent | TruncateEvent):
            continue
        if tables is not None and decoded.table not in tables:
            continue
        current_change.set(decoded)
        yield decoded


def commit_time(event: Any = None) -> float:
    """Seconds since the epoch at which the current change was committed in the source."""
    change = current_change.get()
    if change is None:
        raise LookupError("no change is being processed")
    return change.source.ts_ms / 1000


def row_time(column: str) -> Callable[[Any], float]:
    """For ``Table.tumbling(...).relative_to(row_time("placed_at"))``: the current row's
    ``column`` (a date or datetime; naive values are taken as UTC) in seconds."""

    def timestamp(event: Any = None) -> float:
        change = current_change.get()
        if not isinstance(change, ChangeEvent):
            raise LookupError("no row change is being processed")
        value = change.row.get(column)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                return (value - datetime(1970, 1, 1)).total_seconds()
            return value.timestamp()
        if isinstance(value, date):
            return float((value - date(1970, 1, 1)).days * 86_400)
        raise LookupError(f"column {column!r} is not a date or time: {value!r}")

    return timestamp
