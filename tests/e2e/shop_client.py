"""A small client of the shop's HTTP contract and of the trace backend's query API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.eventually import eventually

TERMINAL = {"APPROVED", "REJECTED"}


def trace_id_of(traceresponse: str) -> str:
    """The trace id in a W3C ``traceresponse`` header (``00-<trace>-<span>-<flags>``)."""
    version, trace_id, span_id, flags = traceresponse.split("-")
    assert version == "00"
    assert len(trace_id) == 32
    assert len(span_id) == 16
    assert len(flags) == 2
    return trace_id


@dataclass(frozen=True)
class Placed:
    id: str
    trace_id: str
    status_code: int


@dataclass(frozen=True)
class Span:
    span_id: str
    parent_id: str | None
    service: str
    name: str
    tags: dict[str, Any] = field(default_factory=dict)

    @property
    def error(self) -> bool:
        return bool(self.tags.get("error")) or self.tags.get("otel.status_code") == "ERROR"


class ShopClient:
    """The four services and the trace backend, through their public HTTP APIs only."""

    def __init__(
        self, *, orders: str, customers: str, inventory: str, order_history: str, traces: str
    ) -> None:
        self.urls = {
            "orders": orders,
            "customers": customers,
            "inventory": inventory,
            "order-history": order_history,
        }
        self.traces_url = traces
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.http.close()

    def url(self, service: str, path: str) -> str:
        return self.urls[service] + path

    # ------------------------------------------------------------------------ seeding

    def customer(self, name: str, credit_limit: int) -> str:
        response = self.http.post(
            self.url("customers", "/customers"), json={"name": name, "credit_limit": credit_limit}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def product(self, name: str, *, price: int, stock: int) -> str:
        sku = f"{name}-{uuid.uuid4().hex[:8]}"
        response = self.http.post(
            self.url("inventory", "/products"),
            json={"sku": sku, "name": name, "price": price, "stock": stock},
        )
        assert response.status_code == 201, response.text
        return sku

    # ------------------------------------------------------------------------ orders

    def place(
        self, customer_id: str, lines: list[tuple[str, int]], *, key: str | None = None
    ) -> Placed:
        headers = {"Idempotency-Key": key} if key else {}
        body = {
            "customer_id": customer_id,
            "lines": [{"sku": sku, "quantity": q} for sku, q in lines],
        }
        response = self.http.post(self.url("orders", "/orders"), json=body, headers=headers)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "PENDING"
        return Placed(
            id=str(response.json()["id"]),
            trace_id=trace_id_of(response.headers["traceresponse"]),
            status_code=response.status_code,
        )

    def order(self, order_id: str) -> dict[str, Any]:
        response = self.http.get(self.url("orders", f"/orders/{order_id}"))
        response.raise_for_status()
        return dict(response.json())

    def settled(self, order_id: str, *, timeout_s: float = 120.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            order = self.order(order_id)
            return order if order["status"] in TERMINAL else None

        return eventually(probe, timeout=timeout_s, description=f"order {order_id} to settle")

    def get(self, service: str, path: str) -> dict[str, Any]:
        response = self.http.get(self.url(service, path))
        response.raise_for_status()
        return dict(response.json())

    def history(self, customer_id: str) -> list[dict[str, Any]]:
        response = self.http.get(self.url("order-history", f"/customers/{customer_id}/orders"))
        response.raise_for_status()
        return list(response.json())

    # ------------------------------------------------------------------------ traces

    def spans(self, trace_id: str) -> list[Span]:
        response = self.http.get(f"{self.traces_url}/api/traces/{trace_id}")
        if response.status_code == 404:
            return []
        response.raise_for_status()
        data = response.json().get("data") or []
        if not data:
            return []
        trace = data[0]
        services = {pid: p["serviceName"] for pid, p in trace["processes"].items()}
        spans = []
        for raw in trace["spans"]:
            parents = [
                r["spanID"]
                for r in raw.get("references") or []
                if r["refType"] == "CHILD_OF" and r["traceID"] == raw["traceID"]
            ]
            spans.append(
                Span(
                    span_id=raw["spanID"],
                    parent_id=parents[0] if parents else None,
                    service=services[raw["processID"]],
                    name=raw["operationName"],
                    tags={t["key"]: t["value"] for t in raw.get("tags") or []},
                )
            )
        return spans

    def trace_with(
        self, trace_id: str, ready: Callable[[list[Span]], bool], *, timeout_s: float = 90.0
    ) -> list[Span]:
        """The trace's spans, once ``ready`` says the ones a test needs have arrived and every
        parent they name has arrived too (services export in batches, each on its own clock);
        if it never settles, what arrived, for the test to show what is missing."""
        last: list[Span] = []

        def probe() -> list[Span] | None:
            nonlocal last
            last = self.spans(trace_id)
            ids = {s.span_id for s in last}
            settled = all(s.parent_id is None or s.parent_id in ids for s in last)
            return last if last and ready(last) and settled else None

        try:
            return eventually(probe, timeout=timeout_s, description=f"trace {trace_id}")
        except AssertionError:
            return last
