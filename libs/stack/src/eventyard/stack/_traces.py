"""Traces from Jaeger's query API, shown as a waterfall in the terminal.

``waterfall`` is pure: it turns one trace of ``GET /api/traces/<id>`` (Jaeger's JSON: spans with
``spanID``, ``operationName``, ``references``, ``startTime`` and ``duration`` in microseconds,
``tags`` and a ``processID`` into ``processes``) into a rich table.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from rich.table import Table
from rich.text import Text

from eventyard.stack._errors import StackError

__all__ = [
    "SpanRow",
    "TraceNotFound",
    "fetch_trace",
    "is_trace_id",
    "order_trace_id",
    "span_rows",
    "trace_services",
    "wait_for_trace",
    "waterfall",
]

Trace = Mapping[str, Any]

_TRACE_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")
_PALETTE = ("cyan", "green", "magenta", "blue", "yellow", "bright_cyan", "bright_green")


class TraceNotFound(StackError):
    """The query API does not know the trace (yet)."""


@dataclass(frozen=True, kw_only=True)
class SpanRow:
    """One line of the waterfall."""

    depth: int
    prefix: str
    service: str
    name: str
    start_ms: float
    duration_ms: float
    error: str | None


def is_trace_id(text: str) -> bool:
    """True for a hex trace id (an order id is a UUID with dashes)."""
    return bool(_TRACE_ID.match(text))


def _tag(span: Trace, key: str) -> Any:
    for tag in span.get("tags") or ():
        if tag.get("key") == key:
            return tag.get("value")
    return None


def _error_of(span: Trace) -> str | None:
    """The span's error text, or None when it did not fail."""
    status = str(_tag(span, "otel.status_code") or "").upper()
    flagged = _tag(span, "error") in (True, "true")
    if status != "ERROR" and not flagged:
        return None
    return str(_tag(span, "otel.status_description") or _tag(span, "exception.message") or "error")


def _parent_of(span: Trace, known: set[str]) -> str | None:
    for reference in span.get("references") or ():
        if reference.get("refType") == "CHILD_OF" and reference.get("spanID") in known:
            return str(reference["spanID"])
    return None


def span_rows(trace: Trace) -> list[SpanRow]:
    """The spans in tree order: children under their parent, siblings by start time.

    A span whose parent is not in the trace (not arrived yet, or lost) is shown as a root.
    """
    spans: Sequence[Trace] = trace.get("spans") or ()
    if not spans:
        return []
    processes: Mapping[str, Trace] = trace.get("processes") or {}
    known = {str(s["spanID"]) for s in spans}
    children: dict[str | None, list[Trace]] = {}
    for span in spans:
        children.setdefault(_parent_of(span, known), []).append(span)
    for group in children.values():
        group.sort(key=lambda s: (int(s["startTime"]), str(s.get("operationName"))))
    origin = min(int(s["startTime"]) for s in spans)
    rows: list[SpanRow] = []

    def visit(span: Trace, depth: int, guide: str, last: bool) -> None:
        branch = "" if depth == 0 else ("└─ " if last else "├─ ")
        process = processes.get(str(span.get("processID")), {})
        rows.append(
            SpanRow(
                depth=depth,
                prefix=guide + branch,
                service=str(process.get("serviceName", "?")),
                name=str(span.get("operationName", "")),
                start_ms=(int(span["startTime"]) - origin) / 1000,
                duration_ms=int(span.get("duration", 0)) / 1000,
                error=_error_of(span),
            )
        )
        below = children.get(str(span["spanID"]), [])
        inner = guide if depth == 0 else guide + ("   " if last else "│  ")
        for index, child in enumerate(below):
            visit(child, depth + 1, inner, index == len(below) - 1)

    for root in children.get(None, []):
        visit(root, 0, "", True)
    return rows


def trace_services(trace: Trace) -> set[str]:
    """The service names that have spans in ``trace``."""
    processes: Mapping[str, Trace] = trace.get("processes") or {}
    return {
        str(processes.get(str(span.get("processID")), {}).get("serviceName", "?"))
        for span in trace.get("spans") or ()
    }


def _bar(row: SpanRow, total_ms: float, width: int) -> str:
    scale = width / total_ms if total_ms > 0 else 0.0
    start = min(width - 1, int(row.start_ms * scale))
    length = max(1, min(width - start, round(row.duration_ms * scale)))
    return " " * start + "█" * length + " " * (width - start - length)


def waterfall(trace: Trace, *, width: int = 160, database: bool = True) -> Table:
    """The trace as a table: span tree (service, span name), start offset, duration, a bar.

    Failed spans are red, with their error text. The bars take what ``width`` (the terminal's)
    leaves after the other columns, between 10 and 40 characters. ``database=False`` leaves
    out the database client spans (leaves that carry ``db.system``), keeping the story's shape.
    """
    bar_width = max(10, min(40, width - 100))
    rows = span_rows(trace if database else _without_database(trace))
    total_ms = max((r.start_ms + r.duration_ms for r in rows), default=0.0)
    services = sorted({r.service for r in rows})
    colour = {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(services)}
    table = Table(
        title=f"trace {trace.get('traceID', '?')}",
        caption=f"{len(rows)} spans, {len(services)} services, {total_ms:.1f} ms",
    )
    # On a narrow terminal the span names and the bars give way, never the numbers.
    span_width = max(20, width - bar_width - 13 - 8 - 11 - 16)  # the rest, and the borders
    table.add_column("span", no_wrap=True, overflow="ellipsis", max_width=span_width)
    table.add_column("service", no_wrap=True, min_width=13)
    table.add_column("start ms", justify="right", no_wrap=True, min_width=8)
    table.add_column("duration ms", justify="right", no_wrap=True, min_width=8)
    table.add_column("timeline", no_wrap=True, overflow="crop")
    for row in rows:
        style = "red" if row.error else colour[row.service]
        label = Text(row.prefix, style="dim")
        label.append(row.name, style="bold red" if row.error else "")
        if row.error:
            label.append(f"  {row.error}", style="red")
        table.add_row(
            label,
            Text(row.service, style=style),
            f"{row.start_ms:.1f}",
            f"{row.duration_ms:.1f}",
            Text(_bar(row, total_ms, bar_width), style=style),
        )
    return table


def _without_database(trace: Trace) -> Trace:
    def is_db(span: dict[str, Any]) -> bool:
        return any(t.get("key") in {"db.system", "db.system.name"} for t in span.get("tags") or ())

    return {**trace, "spans": [s for s in trace.get("spans") or () if not is_db(s)]}


def fetch_trace(traces_url: str, trace_id: str, *, client: httpx.Client | None = None) -> Trace:
    """One trace from the query API; raise :class:`TraceNotFound` if it is not there."""
    http = client or httpx.Client(timeout=10)
    try:
        response = http.get(f"{traces_url.rstrip('/')}/api/traces/{trace_id}")
    finally:
        if client is None:
            http.close()
    if response.status_code == 404:
        raise TraceNotFound(f"trace {trace_id} is not in Jaeger at {traces_url}")
    response.raise_for_status()
    data = response.json().get("data") or []
    if not data:
        raise TraceNotFound(f"trace {trace_id} is not in Jaeger at {traces_url}")
    trace: Trace = data[0]
    return trace


def _settled(trace: Trace) -> bool:
    """Every referenced parent has arrived."""
    spans = trace.get("spans") or ()
    known = {s["spanID"] for s in spans}
    return all(
        r.get("spanID") in known
        for s in spans
        for r in s.get("references") or ()
        if r.get("refType") == "CHILD_OF"
    )


def wait_for_trace(
    traces_url: str,
    trace_id: str,
    *,
    wait_s: float,
    complete: Callable[[Trace], bool] = _settled,
    poll_s: float = 0.5,
) -> Trace:
    """Fetch the trace, polling up to ``wait_s`` until ``complete`` holds and no spans are
    still arriving; return what there is then (raise :class:`TraceNotFound` if nothing)."""
    deadline = time.monotonic() + wait_s
    last: Trace | None = None
    with httpx.Client(timeout=10) as client:
        while True:
            try:
                trace = fetch_trace(traces_url, trace_id, client=client)
            except TraceNotFound:
                if time.monotonic() >= deadline:
                    raise
            else:
                stable = last is not None and len(last["spans"]) == len(trace["spans"])
                if (stable and complete(trace)) or time.monotonic() >= deadline:
                    return trace
                last = trace
            time.sleep(poll_s)


def order_trace_id(orders_url: str, order_id: str) -> str:
    """The trace id the orders service recorded for ``order_id``."""
    response = httpx.get(f"{orders_url.rstrip('/')}/orders/{order_id}", timeout=10)
    if response.status_code == 404:
        raise TraceNotFound(f"order {order_id} is not known to the orders service at {orders_url}")
    response.raise_for_status()
    trace_id = response.json().get("trace_id")
    if not trace_id:
        raise TraceNotFound(f"order {order_id} has no trace id (was tracing off?)")
    return str(trace_id)
