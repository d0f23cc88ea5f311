"""The runtime Eventyard's reference services share.

:class:`ServiceSettings` (environment, one place), :class:`Runtime` (boot with retries: the
service's own database created and migrated with Alembic, Kafka reachable; supervised
:class:`Worker` threads; readiness; a stop that lets workers finish the batch in hand),
:func:`install` (``/healthz``, ``/readyz``, 503 while not ready, 413 over the body limit) and
:func:`serve` (uvicorn, graceful drain on SIGTERM); :func:`participant_runtime` and
:func:`service_app` wire a saga participant service in a few lines. Nothing connects at import
time.
"""

from eventyard.service._cli import migrate_database, service_cli
from eventyard.service._database import describe, ensure_database, make_engine, migrate, sa_url
from eventyard.service._errors import ConfigError, ConfigurationError, NotReady, ServiceError
from eventyard.service._http import (
    BodyLimit,
    health_router,
    install,
    serve,
    service_app,
    session_dependency,
)
from eventyard.service._kafka import consumer_config, participant_worker, relay_worker, topic_router
from eventyard.service._participant import participant_runtime
from eventyard.service._runtime import Runtime, Worker
from eventyard.service._settings import ServiceSettings, with_database
from eventyard.service._topics import ensure_topics

__all__ = [
    "BodyLimit",
    "ConfigError",
    "ConfigurationError",
    "NotReady",
    "Runtime",
    "ServiceError",
    "ServiceSettings",
    "Worker",
    "consumer_config",
    "describe",
    "ensure_database",
    "ensure_topics",
    "health_router",
    "install",
    "make_engine",
    "migrate",
    "migrate_database",
    "participant_runtime",
    "participant_worker",
    "relay_worker",
    "sa_url",
    "serve",
    "service_app",
    "service_cli",
    "session_dependency",
    "topic_router",
    "with_database",
]
