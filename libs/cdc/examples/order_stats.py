"""Live order statistics from Debezium change events, as a faust-streaming app.

- ``status_counts``: how many orders are in each status now (a faust Table).
- ``revenue``: order amounts (in cents) per one-hour tumbling window of ``placed_at``.
- ``GET /stats/``: both tables as JSON.

The source table needs ``REPLICA IDENTITY FULL`` so that updates and deletes carry the row as it
was. Settings come from the environment: ``ORDER_STATS_BROKER`` (``host:port``),
``ORDER_STATS_TOPIC`` (the connector's ``<prefix>.public.orders``), ``ORDER_STATS_APP_ID``.
Run it with ``faust -A order_stats worker --web-port 6066``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import faust

from eventyard.cdc import ChangeEvent, Op
from eventyard.cdc.faust import changes, debezium_topic, row_time

WINDOW_S = 3600

app = faust.App(
    os.environ.get("ORDER_STATS_APP_ID", "order-stats"),
    broker=f"kafka://{os.environ.get('ORDER_STATS_BROKER', '127.0.0.1:9092')}",
    store="memory://",
    topic_partitions=1,
    topic_replication_factor=1,
    web_host="127.0.0.1",
)
orders = debezium_topic(app, os.environ.get("ORDER_STATS_TOPIC", "shop.public.orders"))
status_counts = app.Table("status_counts", default=int, partitions=1)
revenue = (
    app.Table("revenue", default=int, partitions=1)
    .tumbling(WINDOW_S, expires=timedelta(days=3650))
    .relative_to(row_time("placed_at"))
)


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


@app.agent(orders)
async def tally(stream: Any) -> None:
    async for change in changes(stream, tables={"public.orders"}):
        if not isinstance(change, ChangeEvent):
            continue  # a truncate: this example keeps its history
        before, after = change.before, change.after
        if change.op in (Op.CREATE, Op.READ) and after is not None:
            status_counts[after["status"]] += 1
            revenue["all"] += _cents(after["amount"])
        elif change.op is Op.UPDATE and before is not None and after is not None:
            if before["status"] != after["status"]:
                status_counts[before["status"]] -= 1
                status_counts[after["status"]] += 1
            if before["amount"] != after["amount"]:
                revenue["all"] += _cents(after["amount"]) - _cents(before["amount"])
        elif change.op is Op.DELETE and before is not None:
            status_counts[before["status"]] -= 1
            revenue["all"] -= _cents(before["amount"])


@app.page("/stats/")
async def stats(web: Any, request: Any) -> Any:
    windows: dict[int, int] = defaultdict(int)
    for (_key, (start, _end)), cents in revenue.table.items():
        windows[round(start)] += cents
    return web.json(
        {
            "status_counts": {k: v for k, v in status_counts.items() if v},
            "revenue_cents": {str(k): v for k, v in sorted(windows.items()) if v},
        }
    )
