"""Settings from the environment (``EVENTYARD_REGISTRY_*``), read in one place."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """How the registry runs.

    ``dsn`` comes from ``EVENTYARD_REGISTRY_DSN`` or, failing that, ``EVENTYARD_PG_DSN`` (what
    ``eventyard-stack env`` prints): a SQLAlchemy URL or a libpq ``key=value`` string.
    """

    model_config = SettingsConfigDict(
        env_prefix="EVENTYARD_REGISTRY_", frozen=True, populate_by_name=True, extra="ignore"
    )

    dsn: str | None = Field(
        default=None, validation_alias=AliasChoices("EVENTYARD_REGISTRY_DSN", "EVENTYARD_PG_DSN")
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8081, ge=0, le=65535)
    db_schema: str = Field(default="schema_registry", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    default_compatibility: Literal[
        "NONE",
        "BACKWARD",
        "BACKWARD_TRANSITIVE",
        "FORWARD",
        "FORWARD_TRANSITIVE",
        "FULL",
        "FULL_TRANSITIVE",
    ] = "BACKWARD"
    pool_size: int = Field(default=10, ge=1)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"
    log_format: Literal["json", "console"] = "json"
