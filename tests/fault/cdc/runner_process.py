"""The projection of the fault tests, run as its own process so that the test can SIGKILL it.

Usage: python runner_process.py DSN BOOTSTRAP GROUP TOPIC [TOPIC...]
"""

# ruff: noqa: S608 - the SQL is built from the projection's own quoted table names

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

from eventyard.cdc import (
    ApplyContext,
    ChangeEvent,
    Projection,
    ProjectionRunner,
    RunnerConfig,
    TableEvent,
)

ORDERS = (
    "CREATE TABLE {table} (id bigint PRIMARY KEY, customer_id int, status text,"
    " amount numeric(12, 2), updated_at timestamptz, _lsn bigint)"
)
CUSTOMERS = "CREATE TABLE {table} (id int PRIMARY KEY, name text, tier text, _lsn bigint)"
TOTALS = "CREATE TABLE {table} (customer_id int PRIMARY KEY, orders bigint, amount numeric)"
APPLIED = 'CREATE TABLE {table} (topic text, partition int, "offset" bigint, op text)'


def projection() -> Projection:
    shop = Projection(
        "shop_view",
        tables={"orders": ORDERS, "customers": CUSTOMERS, "totals": TOTALS, "applied": APPLIED},
    )
    shop.mirror("public.orders", into="orders", key=["id"], lsn_column="_lsn", add_columns=True)
    shop.mirror("public.customers", into="customers", key=["id"], lsn_column="_lsn")

    @shop.on_batch("public.orders")
    def totals(ctx: ApplyContext, events: Sequence[TableEvent]) -> None:
        touched = sorted({e.row["customer_id"] for e in events if isinstance(e, ChangeEvent)})
        orders, table = ctx.table("orders"), ctx.table("totals")
        ctx.conn.execute(
            f"INSERT INTO {table.as_string(ctx.conn)} (customer_id, orders, amount)"
            f" SELECT c, count(o.id), coalesce(sum(o.amount), 0) FROM unnest(%s::int[]) AS c"
            f" LEFT JOIN {orders.as_string(ctx.conn)} o ON o.customer_id = c GROUP BY c"
            " ON CONFLICT (customer_id) DO UPDATE"
            " SET orders = EXCLUDED.orders, amount = EXCLUDED.amount",
            (touched,),
        )
        ctx.conn.execute(f"DELETE FROM {table.as_string(ctx.conn)} WHERE orders = 0")

    for source in ("public.orders", "public.customers"):

        @shop.on_batch(source)
        def log(ctx: ApplyContext, events: Sequence[TableEvent]) -> None:
            with ctx.conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {ctx.table('applied').as_string(ctx.conn)}"
                    " VALUES (%s, %s, %s, %s)",
                    [
                        (e.position.topic, e.position.partition, e.position.offset, e.op.value)
                        for e in events
                    ],
                )

    return shop


def main(argv: list[str]) -> None:
    dsn, bootstrap, group, *topics = argv
    config = RunnerConfig(
        bootstrap_servers=bootstrap,
        dsn=dsn,
        group_id=group,
        topics=tuple(topics),
        schema="read_model",
        batch_size=300,
        consumer_config={
            # A restarted process takes its predecessor's place at once (static membership).
            "group.instance.id": f"{group}-runner",
            "session.timeout.ms": 10_000,
        },
    )
    runner = ProjectionRunner(projection(), config)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    with runner:
        runner.run()


if __name__ == "__main__":
    main(sys.argv[1:])
