"""The one I/O edge of decoding: Avro writer schemas from a Confluent-compatible registry."""

from __future__ import annotations

from typing import Any

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from eventyard.cdc._exceptions import SchemaUnavailable

__all__ = ["RegistrySchemas"]


class RegistrySchemas:
    """A ``schema_lookup`` for :class:`Decoder`: schema id -> Avro schema text, from a registry.

    Give it a registry URL (``mock://name`` gives confluent-kafka's in-memory registry) or an
    existing ``SchemaRegistryClient``. Nothing connects until the first unknown id is looked up;
    the decoder caches what it gets. An unknown id raises ``LookupError`` (a poison record);
    an unreachable registry raises :class:`SchemaUnavailable` (retry later).
    """

    def __init__(self, registry: str | SchemaRegistryClient, **config: Any) -> None:
        if isinstance(registry, str):
            registry = SchemaRegistryClient.new_client({"url": registry, **config})
        self.client = registry

    def __call__(self, schema_id: int) -> str:
        try:
            schema = self.client.get_schema(schema_id)
        except SchemaRegistryError as error:
            if error.http_status_code == 404:
                raise LookupError(f"the registry has no schema {schema_id}") from None
            raise SchemaUnavailable(f"schema {schema_id}: {error}") from error
        except Exception as error:  # network errors surface as many types
            raise SchemaUnavailable(f"schema {schema_id}: {error}") from error
        if schema.schema_str is None:
            raise LookupError(f"schema {schema_id} has no text")
        return schema.schema_str
