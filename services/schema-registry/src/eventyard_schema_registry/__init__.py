"""A Confluent-REST-compatible Avro schema registry on PostgreSQL, built on eventyard.schemas.

``create_app`` gives the ASGI application; ``bootstrap`` a connected :class:`Registry`;
``eventyard-schema-registry`` (or ``python -m eventyard_schema_registry``) serves it.
"""

from eventyard_schema_registry.bootstrap import bootstrap
from eventyard_schema_registry.entrypoints.app import create_app
from eventyard_schema_registry.service_layer.registry import Registry
from eventyard_schema_registry.settings import Settings

__all__ = ["Registry", "Settings", "bootstrap", "create_app"]
