"""Stack settings, read from ``EVENTYARD_*`` environment variables in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["StackSettings", "find_project_root"]


def find_project_root(start: Path | None = None) -> Path:
    """Return the nearest folder at or above ``start`` holding ``.git``, else ``start``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def _default_state_dir() -> Path:
    return find_project_root() / ".eventyard"


def _default_cache_dir() -> Path:
    return Path.home() / ".cache" / "eventyard"


class StackSettings(BaseSettings):
    """Where the stack keeps its files, which versions it runs, and on which ports.

    A port left unset is chosen by the runner: its usual port when free, else any free port.
    A port set here is used as given, and ``up`` fails if it is taken. ``stack_backend``
    (``EVENTYARD_STACK_BACKEND``) chooses local processes (the default) or the containers of
    ``docker-compose.yml`` through testcontainers, for the pytest plugin.
    """

    model_config = SettingsConfigDict(env_prefix="EVENTYARD_", frozen=True, extra="ignore")

    stack_backend: Literal["local", "containers"] = "local"
    state_dir: Path = Field(default_factory=_default_state_dir)
    cache_dir: Path = Field(default_factory=_default_cache_dir)

    pg_port: int | None = None
    kafka_port: int | None = None
    kafka_controller_port: int | None = None
    connect_port: int | None = None
    registry_port: int | None = None
    otlp_http_port: int | None = None
    otlp_grpc_port: int | None = None
    jaeger_query_port: int | None = None
    jaeger_query_grpc_port: int | None = None
    orders_port: int | None = None
    customers_port: int | None = None
    inventory_port: int | None = None
    order_history_port: int | None = None

    kafka_version: str = "4.3.1"
    debezium_version: str = "3.6.1.Final"
    jaeger_version: str = "1.75.0"
    pg_bin_dir: Path | None = None

    kafka_heap: str = "512m"
    connect_heap: str = "768m"
    pg_fsync: bool = False
    start_timeout_s: float = 180.0
