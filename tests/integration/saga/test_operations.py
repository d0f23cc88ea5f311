"""Operating sagas on the real stack with the eventyard-saga command, and resuming after a stop."""

from __future__ import annotations

import json
from typing import Any

import psycopg
from typer.testing import CliRunner

from eventyard.saga import SagaTables, saga_ddl
from eventyard.saga._cli import app


def cli(env: Any, *args: str) -> Any:
    return CliRunner().invoke(app, [*args, "--dsn", env.dsn, "--schema", "orders"])


def test_an_operator_lists_inspects_and_aborts_a_stuck_saga(shop_env: Any, shop: Any) -> None:
    env = shop_env(tuning=shop.Tuning(deadline_s=300), start=False)
    env.start("orchestrator")
    env.start("customers")  # inventory is down: the saga waits at reserve_stock
    saga_id = env.shop.place(
        shop.OrderData(order_id="stuck", customer_id="alice", sku="apple", qty=2, total=25)
    )
    env.wait(
        lambda: env.shop.scalar("SELECT currentstep FROM orders.saga_state") == "reserve_stock",
        "the saga to wait at reserve_stock",
    )
    listed = cli(env, "list", "--status", "RUNNING", "--step", "reserve_stock", "--json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert row["id"] == str(saga_id)
    assert row["data"]["order_id"] == "stuck"
    table = cli(env, "list", "--type", "order")
    assert table.exit_code == 0
    assert str(saga_id) in table.output
    assert "RUNNING" in table.output
    assert "reserve_stock (action)" in table.output
    assert json.loads(cli(env, "list", "--status", "COMPLETED", "--json").output) == []
    shown = cli(env, "inspect", str(saga_id)[:8])
    assert shown.exit_code == 0, shown.output
    for text in (
        "order v1",
        "RUNNING",
        "reserve_stock (action), attempt 1",
        "step log",
        "ReserveCredit",
        "SUCCEEDED",
        "ReserveStock",
        "DISPATCHED",
    ):
        assert text in shown.output, text
    aborted = cli(env, "abort", str(saga_id), "--reason", "customer called", "--wait", "30")
    assert aborted.exit_code == 0, aborted.output
    assert f"abort requested for saga {saga_id}" in aborted.output
    env.wait(lambda: env.status(saga_id) == "COMPENSATING", "the compensation to start")
    env.start("inventory")  # receives the late ReserveStock, then its compensation
    env.wait_status(saga_id, "COMPENSATED")
    document = json.loads(cli(env, "inspect", str(saga_id), "--json").output)
    assert document["status"] == "COMPENSATED"
    assert document["reason"] == "customer called"
    outcomes = [(e["step"], e["phase"], e["outcome"]) for e in document["log"]]
    assert ("reserve_stock", "action", "ABORTED") in outcomes
    assert [o for o in outcomes if o[1] == "compensation" and o[2] == "SUCCEEDED"] == [
        ("reserve_stock", "compensation", "SUCCEEDED"),
        ("reserve_credit", "compensation", "SUCCEEDED"),
    ]
    assert env.shop.scalar("SELECT sum(reserved) FROM customers.customer") == 0
    assert env.shop.scalar("SELECT sum(initial - available) FROM inventory.stock") == 0
    summary = cli(env, "summary", "--json")
    assert json.loads(summary.output) == [
        {"type": "order", "version": 1, "status": "COMPENSATED", "count": 1}
    ]
    refused = cli(env, "abort", str(saga_id))
    assert refused.exit_code == 1
    assert "it is COMPENSATED" in refused.output


def test_unknown_ids_missing_tables_and_unreachable_databases_get_clear_errors(
    pg_database: str,
) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["list", "--dsn", pg_database])
    assert missing.exit_code == 2
    assert "eventyard-saga migrate" in missing.output
    made = runner.invoke(app, ["migrate", "--dsn", pg_database, "--participant"])
    assert made.exit_code == 0, made.output
    with psycopg.connect(pg_database) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
    assert tables == {"saga_state", "saga_step_log", "saga_lock", "saga_participant"}
    assert len(saga_ddl(SagaTables(), participant=True)) > 5
    unknown = runner.invoke(app, ["inspect", "0000abcd", "--dsn", pg_database])
    assert unknown.exit_code == 1
    assert "no saga 0000abcd" in unknown.output
    bad = runner.invoke(app, ["list", "--idle-for", "soon", "--dsn", pg_database])
    assert bad.exit_code == 2
    assert "'soon' is not a duration" in bad.output
    away = runner.invoke(app, ["list", "--dsn", "host=127.0.0.1 port=1 user=x dbname=x"])
    assert away.exit_code == 2
    assert "cannot reach PostgreSQL" in away.output


def test_an_orchestrator_started_later_resumes_every_saga_of_every_version(
    shop_env: Any, shop: Any
) -> None:
    env = shop_env(start=False)
    env.start("customers")
    env.start("inventory")
    orders = [
        shop.OrderData(order_id=f"r-{i}", customer_id="bob", sku="apple", qty=1, total=5)
        for i in range(8)
    ]
    # No orchestrator runs: half are stored STARTED, half dispatched their first command
    # (into the orders outbox, which nobody relays yet); v1 and v2 instances mixed.
    ids = {
        env.shop.place(o, version=1 + i % 2, run_now=i < 4): 1 + i % 2 for i, o in enumerate(orders)
    }
    assert env.shop.statuses() == {"STARTED": 4, "RUNNING": 4}
    env.start("orchestrator")
    env.wait(lambda: env.shop.statuses() == {"COMPLETED": 8}, "every saga to complete")
    for saga_id, version in ids.items():
        steps = [r.step for r in env.log_lines(saga_id) if r.outcome == "SUCCEEDED"]
        expected = ["reserve_credit", "reserve_stock", "approve_order"]
        if version == 2:
            expected.insert(2, "schedule_shipment")
        assert steps == expected
    assert env.shop.scalar("SELECT count(*) FROM inventory.shipment") == 4
    log = (env.logs / "orchestrator.log").read_text()
    assert "resuming unfinished sagas" in log
    assert "unfinished=8" in log
