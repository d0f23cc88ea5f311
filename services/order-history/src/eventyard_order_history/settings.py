"""Settings from the environment (``EVENTYARD_ORDER_HISTORY_*`` and the shared ``EVENTYARD_*``)."""

from __future__ import annotations

from pydantic import Field

from eventyard.service import ServiceSettings

__all__ = ["Settings"]


class Settings(ServiceSettings):
    """How order-history runs.

    ``orders_database`` and ``customers_database`` are the source databases on the server of
    ``EVENTYARD_PG_DSN`` that the Debezium connectors stream (the orders and customers services
    create them).
    """

    model_config = ServiceSettings.config_for("ORDER_HISTORY")

    database: str = "eventyard_order_history"
    port: int = Field(default=58104, ge=0, le=65535)
    orders_database: str = "eventyard_orders"
    customers_database: str = "eventyard_customers"
    projection_group: str = "order-history"
    stats_app_id: str = "order-history-sku-stats"
    connector_check_s: float = Field(default=10.0, gt=0)
    connector_retry_max_s: float = Field(default=10.0, gt=0)
