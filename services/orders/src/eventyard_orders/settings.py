"""Settings from the environment (``EVENTYARD_ORDERS_*`` and the shared ``EVENTYARD_*``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from eventyard.service import ServiceSettings
from eventyard_orders.service_layer.saga import SagaTiming

__all__ = ["Settings"]


class Settings(ServiceSettings):
    """How the orders service runs.

    Its database is ``EVENTYARD_ORDERS_DSN``, or ``eventyard_orders`` on the server of
    ``EVENTYARD_PG_DSN``; events need ``EVENTYARD_REGISTRY_URL``.
    """

    model_config = ServiceSettings.config_for("ORDERS")

    database: str = "eventyard_orders"
    port: int = Field(default=58101, ge=0, le=65535)
    step_deadline_s: float = Field(default=10.0, gt=0)
    step_attempts: int = Field(default=3, ge=1)

    def saga_timing(self) -> SagaTiming:
        """Deadline and attempts of each participant step."""
        return SagaTiming(
            deadline=timedelta(seconds=self.step_deadline_s), attempts=self.step_attempts
        )
