"""Kafka Connect and Debezium's PostgreSQL connector, in one place for every Eventyard library
and service.

- :class:`ConnectClient`: a typed client of Connect's REST API (create or update a connector,
  its config and status, restart, delete, list, wait until it runs); every failure is one
  :class:`ConnectError` naming the Connect URL and the connector, and a failed connector's error
  text.
- :func:`postgres_connector_config`: the Debezium PostgreSQL connector's config (pgoutput, a
  filtered publication, heartbeats, regex-escaped ``table.include.list``, one documented host
  fallback); callers add their own keys on top (the outbox's EventRouter, say).

::

    from eventyard.kafka.connect import ConnectClient, postgres_connector_config

    config = postgres_connector_config(
        name="shop-orders", dsn=dsn, tables=["public.orders"], topic_prefix="shop"
    )
    with ConnectClient(connect_url) as connect:
        connect.ensure("shop-orders", config)  # written only when it differs
        connect.wait_running("shop-orders")  # raises with the task's error if it failed
"""

from eventyard.kafka._connect_client import ConnectClient, ConnectError, connector_state
from eventyard.kafka._connector_config import (
    JSON_CONVERTERS,
    POSTGRES_CONNECTOR_CLASS,
    postgres_connector_config,
    slot_name_for,
)

__all__ = [
    "JSON_CONVERTERS",
    "POSTGRES_CONNECTOR_CLASS",
    "ConnectClient",
    "ConnectError",
    "connector_state",
    "postgres_connector_config",
    "slot_name_for",
]
