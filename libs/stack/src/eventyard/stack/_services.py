"""The reference shop's services (``services/*``), run with this interpreter as stack components.

Each is started as ``python -m <package> serve --host 127.0.0.1 --port <port>`` with the stack's
endpoints in its environment; it creates its own database and runs its migrations itself.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import ClassVar

import httpx

from eventyard.stack._component import Component, LaunchSpec, PortSpec, Report
from eventyard.stack._errors import PrerequisiteMissing
from eventyard.stack._ports import port_answers

__all__ = ["SHOP_SERVICES", "Customers", "Inventory", "OrderHistory", "Orders", "ShopService"]

# The peers' variables a service reads, when that peer is part of the stack.
_PEER_VARIABLES = (
    "EVENTYARD_PG_DSN",
    "EVENTYARD_KAFKA_BOOTSTRAP",
    "EVENTYARD_REGISTRY_URL",
    "EVENTYARD_CONNECT_URL",
    "EVENTYARD_OTLP_ENDPOINT",
)


class ShopService(Component):
    """One shop service: a FastAPI app whose ``GET /readyz`` answers 200 once it can work."""

    package: ClassVar[str]
    depends_on: ClassVar[tuple[str, ...]] = ("postgres", "kafka", "registry", "jaeger")
    stop_timeout_s: ClassVar[float] = 60.0

    @classmethod
    def available(cls) -> bool:
        try:
            return importlib.util.find_spec(f"{cls.package}.__main__") is not None
        except ModuleNotFoundError:
            return False

    @property
    def url(self) -> str:
        """Base URL of the service's HTTP API."""
        return f"http://127.0.0.1:{self.ports['port']}"

    @property
    def url_variable(self) -> str:
        """The variable naming this service's URL, e.g. ``EVENTYARD_ORDER_HISTORY_URL``."""
        return f"EVENTYARD_{self.name.upper().replace('-', '_')}_URL"

    def install(self, report: Report) -> None:
        if not self.available():
            raise PrerequisiteMissing(
                f"the {self.name} service ({self.package})",
                f"install {self.package.replace('_', '-')} "
                "(in this repository: uv sync --all-packages)",
            )

    def prepare(self) -> None:
        """Nothing to do: the service creates its database and migrates it at start."""

    def environment(self) -> dict[str, str]:
        """The endpoints of the peers this service uses."""
        env: dict[str, str] = {}
        for name in self.depends_on:
            peer = self.peers.get(name)
            if peer is not None and peer.ports:
                env.update(peer.endpoints())
        return {k: v for k, v in env.items() if k in _PEER_VARIABLES}

    def launch(self) -> LaunchSpec:
        argv = [sys.executable, "-m", self.package, "serve"]
        argv += ["--host", "127.0.0.1", "--port", str(self.ports["port"])]
        return LaunchSpec(argv=argv, env=self.environment(), cwd=self.home)

    def probe(self) -> bool:
        if not port_answers(self.ports["port"]):
            return False
        try:
            return httpx.get(f"{self.url}/readyz", timeout=3).status_code == 200
        except httpx.HTTPError:
            return False

    def endpoints(self) -> dict[str, str]:
        return {self.url_variable: self.url}


class Orders(ShopService):
    """Orders: ``POST /orders``; owns the order saga's orchestrator."""

    name: ClassVar[str] = "orders"
    package: ClassVar[str] = "eventyard_orders"
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=58101, setting="EVENTYARD_ORDERS_PORT"),
    )


class Customers(ShopService):
    """Customers and their credit: the saga's ``ReserveCredit`` participant."""

    name: ClassVar[str] = "customers"
    package: ClassVar[str] = "eventyard_customers"
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=58102, setting="EVENTYARD_CUSTOMERS_PORT"),
    )


class Inventory(ShopService):
    """Products and stock: the saga's ``PriceOrder`` and ``ReserveStock`` participant."""

    name: ClassVar[str] = "inventory"
    package: ClassVar[str] = "eventyard_inventory"
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=58103, setting="EVENTYARD_INVENTORY_PORT"),
    )


class OrderHistory(ShopService):
    """The read model fed by Debezium from the orders and customers databases."""

    name: ClassVar[str] = "order-history"
    package: ClassVar[str] = "eventyard_order_history"
    # Its connectors stream the orders and customers databases, which those services create.
    depends_on: ClassVar[tuple[str, ...]] = (
        *ShopService.depends_on,
        "connect",
        "orders",
        "customers",
    )
    port_specs: ClassVar[tuple[PortSpec, ...]] = (
        PortSpec(role="port", usual=58104, setting="EVENTYARD_ORDER_HISTORY_PORT"),
    )


SHOP_SERVICES: tuple[type[ShopService], ...] = (Orders, Customers, Inventory, OrderHistory)
