"""Where the stack's services are, as clients see them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

__all__ = ["Endpoints"]

_VARIABLES = {
    "pg_dsn": "EVENTYARD_PG_DSN",
    "kafka_bootstrap": "EVENTYARD_KAFKA_BOOTSTRAP",
    "connect_url": "EVENTYARD_CONNECT_URL",
    "registry_url": "EVENTYARD_REGISTRY_URL",
    "otlp_endpoint": "EVENTYARD_OTLP_ENDPOINT",
    "traces_url": "EVENTYARD_TRACES_URL",
    "orders_url": "EVENTYARD_ORDERS_URL",
    "customers_url": "EVENTYARD_CUSTOMERS_URL",
    "inventory_url": "EVENTYARD_INVENTORY_URL",
    "order_history_url": "EVENTYARD_ORDER_HISTORY_URL",
}


@dataclass(frozen=True, kw_only=True)
class Endpoints:
    """Client endpoints; ``None`` where a component is not known."""

    pg_dsn: str | None = None
    kafka_bootstrap: str | None = None
    connect_url: str | None = None
    registry_url: str | None = None
    otlp_endpoint: str | None = None
    traces_url: str | None = None
    orders_url: str | None = None
    customers_url: str | None = None
    inventory_url: str | None = None
    order_history_url: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, str]) -> Endpoints:
        """Read ``EVENTYARD_*`` variables from ``values`` (for example ``os.environ``)."""
        return cls(**{attr: values.get(var) or None for attr, var in _VARIABLES.items()})

    @classmethod
    def from_env(cls) -> Endpoints:
        """Read the endpoints given in the environment."""
        return cls.from_mapping(os.environ)

    def as_env(self) -> dict[str, str]:
        """The known endpoints as ``EVENTYARD_*`` variables."""
        return {
            _VARIABLES[f.name]: value
            for f in fields(self)
            if (value := getattr(self, f.name)) is not None
        }

    def merged(self, other: Endpoints) -> Endpoints:
        """These endpoints, with gaps filled from ``other``."""
        return Endpoints(
            **{f.name: getattr(self, f.name) or getattr(other, f.name) for f in fields(self)}
        )
