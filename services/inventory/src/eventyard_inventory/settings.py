"""Settings from the environment (``EVENTYARD_INVENTORY_*`` and the shared ``EVENTYARD_*``)."""

from __future__ import annotations

from pydantic import Field

from eventyard.service import ServiceSettings

__all__ = ["Settings"]


class Settings(ServiceSettings):
    """How the inventory service runs; ``EVENTYARD_INVENTORY_DSN`` names its own database."""

    model_config = ServiceSettings.config_for("INVENTORY")

    database: str = "eventyard_inventory"
    port: int = Field(default=58103, ge=0, le=65535)
