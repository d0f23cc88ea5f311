"""Settings from the environment (``EVENTYARD_CUSTOMERS_*`` and the shared ``EVENTYARD_*``)."""

from __future__ import annotations

from pydantic import Field

from eventyard.service import ServiceSettings

__all__ = ["Settings"]


class Settings(ServiceSettings):
    """How the customers service runs; ``EVENTYARD_CUSTOMERS_DSN`` names its own database."""

    model_config = ServiceSettings.config_for("CUSTOMERS")

    database: str = "eventyard_customers"
    port: int = Field(default=58102, ge=0, le=65535)
