"""The shop's story: three orders through the saga, their outcomes, one trace as a waterfall."""

from __future__ import annotations

import json
import shlex
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from eventyard.stack._endpoints import Endpoints
from eventyard.stack._traces import TraceNotFound, trace_services, wait_for_trace, waterfall

__all__ = ["run_shop_demo"]

_TERMINAL = {"APPROVED", "REJECTED"}
_TRACED_SERVICES = {"orders", "customers", "inventory"}


@dataclass(frozen=True, kw_only=True)
class _Scenario:
    title: str
    customer: str
    sku: str
    quantity: int
    expected: str
    reason_mentions: str | None


@dataclass(frozen=True, kw_only=True)
class _Outcome:
    scenario: _Scenario
    order: dict[str, Any]
    elapsed_ms: float

    @property
    def as_expected(self) -> bool:
        reason = str(self.order.get("reason") or "").lower()
        mentions = self.scenario.reason_mentions
        return self.order.get("status") == self.scenario.expected and (
            mentions is None or mentions in reason
        )


_MARKS = {"SUCCEEDED": "✓", "FAILED": "✗", "GAVE_UP": "✗", "TIMED_OUT": "⏱", "ABORTED": "✗"}


def _steps_line(steps: list[Any]) -> str:
    """The saga's path in one line: each step's end (``✓`` done, ``✗`` failed), and ``↩`` for
    a compensation, in the order they happened (dispatches are left out)."""
    marks: list[str] = []
    for step in steps:
        if not isinstance(step, dict):
            continue
        mark = _MARKS.get(str(step.get("outcome")))
        if mark is None:
            continue
        name = str(step.get("name") or "?")
        undo = step.get("phase") == "compensation"
        # No-break spaces: a folded cell never parts a step from its mark.
        marks.append(f"↩\u00a0{name}" if undo and mark == "✓" else f"{name}\u00a0{mark}")
    return " → ".join(marks) or "-"


def _trace_id_of(order: dict[str, Any], traceresponse: str | None) -> str:
    if order.get("trace_id"):
        return str(order["trace_id"])
    parts = (traceresponse or "").split("-")
    return parts[1] if len(parts) == 4 else ""


def _post(
    client: httpx.Client, url: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST ``body``; an error status raises with the service's own answer in the message."""
    response = client.post(url, json=body, headers=headers)
    if response.status_code >= 400:
        raise httpx.HTTPStatusError(
            f"POST {url} answered {response.status_code}: {response.text[:300]}",
            request=response.request,
            response=response,
        )
    return response


def _place(
    client: httpx.Client, orders_url: str, scenario: _Scenario, key: str, timeout_s: float
) -> _Outcome:
    body = {
        "customer_id": scenario.customer,
        "lines": [{"sku": scenario.sku, "quantity": scenario.quantity}],
    }
    started = time.monotonic()
    placed = _post(client, f"{orders_url}/orders", body, {"Idempotency-Key": key})
    order_id = placed.json()["id"]
    deadline = started + timeout_s
    order: dict[str, Any] = placed.json()
    while time.monotonic() < deadline:
        order = client.get(f"{orders_url}/orders/{order_id}").raise_for_status().json()
        if order.get("status") in _TERMINAL:
            break
        time.sleep(0.05)
    elapsed_ms = (time.monotonic() - started) * 1000
    order["trace_id"] = _trace_id_of(order, placed.headers.get("traceresponse"))
    return _Outcome(scenario=scenario, order=order, elapsed_ms=elapsed_ms)


def _outcomes_table(outcomes: list[_Outcome], *, width: int) -> Table:
    """One row per order: order, outcome, reason, steps, time, trace id; on a terminal narrower
    than 150 columns the same facts stack up in two columns, so none of them is cut."""
    table = Table(
        title="three orders through the saga",
        caption="time: POST until the order was final",
        show_lines=True,
    )
    wide = width >= 150
    columns = (
        ("order", "outcome", "reason", "steps", "time ms", "trace id")
        if wide
        else (
            "order, trace",
            "outcome, reason, steps",
        )
    )
    for column in columns:
        table.add_column(column, overflow="fold")
    for outcome in outcomes:
        order = outcome.order
        status = str(order.get("status"))
        colour = {"APPROVED": "green", "REJECTED": "red"}.get(status, "yellow")
        cells = {
            "order": f"{outcome.scenario.title}\n[dim]{order.get('id')}[/dim]",
            "outcome": f"[{colour}]{status}[/{colour}]",
            "reason": str(order.get("reason") or "-"),
            "steps": _steps_line(list(order.get("steps") or [])),
            "time": f"{outcome.elapsed_ms:.0f}",
            "trace": str(order.get("trace_id") or "-"),
        }
        if wide:
            table.add_row(
                *(cells[k] for k in ("order", "outcome", "reason", "steps", "time", "trace"))
            )
        else:
            table.add_row(
                f"{cells['order']}\ntrace {cells['trace']}",
                f"{cells['outcome']} in {cells['time']} ms\n{cells['reason']}\n{cells['steps']}",
            )
    return table


def _seed(client: httpx.Client, endpoints: Endpoints, run: str) -> dict[str, str]:
    """Two customers and two products with names unique to this run."""
    customers = f"{endpoints.customers_url}/customers"
    products = f"{endpoints.inventory_url}/products"
    rich = _post(client, customers, {"name": f"Ada {run}", "credit_limit": 1_000_000})
    poor = _post(client, customers, {"name": f"Bob {run}", "credit_limit": 5_000})
    lamp, vase = f"LAMP-{run}", f"VASE-{run}"
    _post(client, products, {"sku": lamp, "name": "Desk lamp", "price": 4_500, "stock": 100})
    _post(client, products, {"sku": vase, "name": "Last blue vase", "price": 12_000, "stock": 1})
    return {"rich": rich.json()["id"], "poor": poor.json()["id"], "lamp": lamp, "vase": vase}


def _closing_lines(
    console: Console, endpoints: Endpoints, seeded: dict[str, str], order_id: str
) -> None:
    body = json.dumps(
        {"customer_id": seeded["rich"], "lines": [{"sku": seeded["lamp"], "quantity": 1}]}
    )
    orders = endpoints.orders_url
    console.print("\n[bold]Place more orders[/bold] (the stack and the services stay up):")
    console.print(
        f"  curl -s -X POST {orders}/orders -H 'Content-Type: application/json' "
        f"-d {shlex.quote(body)}",
        markup=False,
        highlight=False,
    )
    console.print(f"  curl -s {orders}/orders/{order_id}", markup=False, highlight=False)
    console.print(
        f"  curl -s {endpoints.customers_url}/customers/{seeded['rich']}   "
        f"curl -s {endpoints.inventory_url}/products/{seeded['vase']}",
        markup=False,
        highlight=False,
    )
    if endpoints.order_history_url:
        console.print(
            f"  curl -s {endpoints.order_history_url}/customers/{seeded['rich']}/orders",
            markup=False,
            highlight=False,
        )
    console.print("[bold]Where to look[/bold]:")
    console.print(
        f"  uv run eventyard-stack trace {order_id}    # any order's trace (or a trace id)"
    )
    console.print(f"  Jaeger's query API: {endpoints.traces_url}/api/traces/<trace id>")
    console.print("  uv run eventyard-stack status             # every component, its log")
    console.print("  uv run eventyard-stack down               # stop everything")


def _scenarios(seeded: dict[str, str]) -> list[_Scenario]:
    rich, poor, lamp, vase = seeded["rich"], seeded["poor"], seeded["lamp"], seeded["vase"]
    return [
        _Scenario(
            title="Ada buys 2 lamps",
            customer=rich,
            sku=lamp,
            quantity=2,
            expected="APPROVED",
            reason_mentions=None,
        ),
        _Scenario(
            title="Bob buys 2 lamps: over his credit",
            customer=poor,
            sku=lamp,
            quantity=2,
            expected="REJECTED",
            reason_mentions="credit",
        ),
        _Scenario(
            title="Ada buys 2 vases: credit reserved, then no stock",
            customer=rich,
            sku=vase,
            quantity=2,
            expected="REJECTED",
            reason_mentions="stock",
        ),
    ]


def _show_trace(console: Console, traces_url: str, trace_id: str) -> None:
    """The trace's waterfall once orders, customers and inventory have all sent their spans."""
    console.print(f"3. the compensated order's trace, from Jaeger ({traces_url}):")
    if not trace_id:
        console.print("[red]the order names no trace id: is tracing off?[/red]")
        return
    try:
        trace = wait_for_trace(
            traces_url,
            trace_id,
            wait_s=30,
            complete=lambda t: trace_services(t) >= _TRACED_SERVICES,
        )
    except (TraceNotFound, httpx.HTTPError) as error:
        console.print(f"[red]no trace to show: {error}[/red]")
        return
    console.print(waterfall(trace, width=console.width, database=False))


def run_shop_demo(endpoints: Endpoints, console: Console, *, timeout_s: float = 60.0) -> int:
    """Seed the shop, place three orders, show their outcomes and the compensated one's trace.

    Names are unique to each run, so running it again only adds customers, products and orders.
    """
    needed = {
        "orders": endpoints.orders_url,
        "customers": endpoints.customers_url,
        "inventory": endpoints.inventory_url,
        "jaeger": endpoints.traces_url,
    }
    missing = [name for name, value in needed.items() if not value]
    if missing or not endpoints.orders_url or not endpoints.traces_url:
        console.print(
            f"[red]the shop demo needs {', '.join(missing)} running; are the services "
            "installed? (in this repository: uv sync --all-packages)[/red]"
        )
        return 1
    run = uuid.uuid4().hex[:6]
    with httpx.Client(timeout=10) as client:
        seeded = _seed(client, endpoints, run)
        console.print(
            f"1. seeded customers Ada {run} (credit 10,000.00) and Bob {run} (credit 50.00); "
            f"products {seeded['lamp']} (45.00, 100 in stock), "
            f"{seeded['vase']} (120.00, only 1 in stock)"
        )
        outcomes = [
            _place(client, endpoints.orders_url, scenario, f"demo-{run}-{i}", timeout_s)
            for i, scenario in enumerate(_scenarios(seeded))
        ]
    console.print("2. placed three orders; each one's saga ran to its end:")
    console.print(_outcomes_table(outcomes, width=console.width))
    compensated = outcomes[2].order
    _show_trace(console, endpoints.traces_url, str(compensated.get("trace_id") or ""))
    _closing_lines(console, endpoints, seeded, str(compensated.get("id")))
    wrong = [o for o in outcomes if not o.as_expected]
    for outcome in wrong:
        console.print(
            f"[red]{outcome.scenario.title}: expected {outcome.scenario.expected}, "
            f"got {outcome.order.get('status')} ({outcome.order.get('reason')})[/red]"
        )
    return 1 if wrong else 0
