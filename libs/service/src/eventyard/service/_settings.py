"""Settings every reference service shares, read from the environment in one place."""

from __future__ import annotations

from typing import Any, ClassVar

import psycopg
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventyard.service._errors import ConfigError

__all__ = ["ServiceSettings"]


def _shared(name: str) -> Any:
    """A field read from one unprefixed ``EVENTYARD_*`` variable shared by every service."""
    return AliasChoices(name)


class ServiceSettings(BaseSettings):
    """A service's settings; subclasses set ``model_config = ServiceSettings.config_for("ORDERS")``.

    ``dsn`` (``EVENTYARD_<SVC>_DSN``) names the service's own database. Without it the database
    is ``database`` on the server of ``EVENTYARD_PG_DSN``, created at start when missing.
    """

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, extra="ignore")
    service: ClassVar[str] = "service"

    dsn: str | None = None
    database: str = "eventyard"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    pg_dsn: str | None = Field(default=None, validation_alias=_shared("EVENTYARD_PG_DSN"))
    kafka_bootstrap: str | None = Field(
        default=None, validation_alias=_shared("EVENTYARD_KAFKA_BOOTSTRAP")
    )
    registry_url: str | None = Field(
        default=None, validation_alias=_shared("EVENTYARD_REGISTRY_URL")
    )
    connect_url: str | None = Field(default=None, validation_alias=_shared("EVENTYARD_CONNECT_URL"))
    topic_prefix: str = Field(
        default="shop",
        pattern=r"^[A-Za-z0-9._-]+$",
        validation_alias=_shared("EVENTYARD_SHOP_TOPIC_PREFIX"),
    )
    topic_partitions: int = Field(
        default=8, ge=1, validation_alias=_shared("EVENTYARD_SHOP_TOPIC_PARTITIONS")
    )
    pool_size: int = Field(default=10, ge=1)
    connect_timeout_s: float = Field(default=5.0, gt=0)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    max_body_bytes: int = Field(default=65_536, ge=1024)
    log_level: str = "info"

    @staticmethod
    def config_for(service: str) -> SettingsConfigDict:
        """The model config of a service whose own variables are ``EVENTYARD_<service>_*``."""
        return SettingsConfigDict(
            env_prefix=f"EVENTYARD_{service.upper().replace('-', '_')}_",
            frozen=True,
            populate_by_name=True,
            extra="ignore",
        )

    def env_name(self, field: str) -> str:
        """The environment variable that sets ``field`` (for error messages)."""
        info = type(self).model_fields[field]
        if isinstance(info.validation_alias, AliasChoices):
            return str(info.validation_alias.choices[0])
        return f"{self.model_config.get('env_prefix', '')}{field}".upper()

    def database_dsn(self) -> str:
        """The libpq DSN of this service's own database."""
        if self.dsn:
            return self.dsn
        if not self.pg_dsn:
            raise ConfigError(
                f"no database: set {self.env_name('dsn')} to this service's database, or "
                f"EVENTYARD_PG_DSN to a PostgreSQL server (database {self.database!r} is created)"
            )
        return with_database(self.pg_dsn, self.database)

    def bootstrap(self) -> str:
        """The Kafka bootstrap servers, or a clear error naming the variable."""
        if not self.kafka_bootstrap:
            raise ConfigError("no Kafka: set EVENTYARD_KAFKA_BOOTSTRAP (host:port)")
        return self.kafka_bootstrap


def with_database(dsn: str, database: str) -> str:
    """``dsn`` with its database replaced by ``database``."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        raise ConfigError(f"unusable PostgreSQL DSN {dsn!r}: {error}") from None
    info["dbname"] = database
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
