"""Eventyard's real local stack as processes: PostgreSQL, Kafka, Kafka Connect + Debezium, Jaeger,
the schema registry and the reference shop's services.

``Stack`` starts, checks and stops the components; ``eventyard-stack`` is its command line;
the pytest plugin (``eventyard.stack.pytest_plugin``) hands the endpoints to tests.
"""

from eventyard.stack._component import Component, LaunchSpec, PortSpec
from eventyard.stack._connect import POSTGRES_CONNECTOR_CLASS
from eventyard.stack._connect_client import (
    ConnectClient,
    ConnectorFailed,
    drop_replication_slot,
    postgres_connector_config,
)
from eventyard.stack._endpoints import Endpoints
from eventyard.stack._errors import (
    ComponentFailed,
    ConfigError,
    InstallFailed,
    PortInUse,
    PrerequisiteMissing,
    StackError,
)
from eventyard.stack._runner import COMPONENTS, ComponentStatus, Stack
from eventyard.stack._settings import StackSettings

__all__ = [
    "COMPONENTS",
    "POSTGRES_CONNECTOR_CLASS",
    "Component",
    "ComponentFailed",
    "ComponentStatus",
    "ConfigError",
    "ConnectClient",
    "ConnectorFailed",
    "Endpoints",
    "InstallFailed",
    "LaunchSpec",
    "PortInUse",
    "PortSpec",
    "PrerequisiteMissing",
    "Stack",
    "StackError",
    "StackSettings",
    "drop_replication_slot",
    "postgres_connector_config",
]
