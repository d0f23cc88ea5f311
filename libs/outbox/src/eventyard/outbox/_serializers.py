"""Payload serializers: the payload becomes bytes at publish time, never later.

Both delivery paths pass these bytes through untouched, so a consumer decodes exactly what the
publishing service encoded, with the schema id it was encoded with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer as _ConfluentAvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from eventyard.outbox._exceptions import ConfigError, SerializationError
from eventyard.outbox._model import CONTENT_TYPE_AVRO, CONTENT_TYPE_BYTES, CONTENT_TYPE_JSON

__all__ = [
    "AvroSerializer",
    "BytesSerializer",
    "JsonSerializer",
    "PayloadSerializer",
    "SerializedPayload",
    "confluent_schema_id",
]


@dataclass(frozen=True, kw_only=True)
class SerializedPayload:
    """A payload as bytes, with how it is encoded."""

    data: bytes
    content_type: str
    schema_id: int | None = None


class PayloadSerializer(Protocol):
    """Turns an event's payload into bytes for the topic it will be published to."""

    def serialize(self, payload: object, *, topic: str) -> SerializedPayload:
        """Serialize ``payload``; raise any exception to refuse it (publish reports which event)."""
        ...


@dataclass(frozen=True, kw_only=True)
class JsonSerializer:
    """UTF-8 JSON (``application/json``); ``default`` converts values ``json`` cannot."""

    default: Callable[[Any], Any] | None = None
    sort_keys: bool = False

    def serialize(self, payload: object, *, topic: str) -> SerializedPayload:
        """Encode ``payload`` as compact JSON."""
        text = json.dumps(
            payload,
            default=self.default,
            sort_keys=self.sort_keys,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
        return SerializedPayload(data=text.encode(), content_type=CONTENT_TYPE_JSON)


@dataclass(frozen=True, kw_only=True)
class BytesSerializer:
    """Raw bytes, passed as they are; ``content_type`` says what they hold."""

    content_type: str = CONTENT_TYPE_BYTES

    def serialize(self, payload: object, *, topic: str) -> SerializedPayload:
        """Accept ``bytes``, ``bytearray`` or ``memoryview`` only."""
        if not isinstance(payload, bytes | bytearray | memoryview):
            raise TypeError(f"BytesSerializer takes bytes, not {type(payload).__name__}")
        return SerializedPayload(data=bytes(payload), content_type=self.content_type)


def confluent_schema_id(data: bytes) -> int | None:
    """The schema id of a Confluent wire-format message (magic byte 0, 4-byte id), or None."""
    if len(data) >= 5 and data[0] == 0:
        return int.from_bytes(data[1:5], "big")
    return None


class AvroSerializer:
    """Avro in Confluent wire format, through a schema registry (confluent-kafka's AvroSerializer).

    The subject follows the serializer's naming strategy (by default ``<topic>-value``), so the
    topic the event is routed to is known at publish time. With ``auto.register.schemas`` (the
    default) the first event registers the schema; later calls use the cached id.
    """

    def __init__(
        self,
        registry: SchemaRegistryClient,
        schema_str: str,
        *,
        to_dict: Callable[[object, SerializationContext], dict[str, Any]] | None = None,
        conf: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            self._serializer = _ConfluentAvroSerializer(
                registry, schema_str, to_dict=to_dict, conf=dict(conf or {})
            )
        except Exception as error:
            raise ConfigError(f"Avro serializer: {error}") from error

    def serialize(self, payload: object, *, topic: str) -> SerializedPayload:
        """Encode ``payload`` (a dict, or an object ``to_dict`` converts) for ``topic``."""
        data = self._serializer(payload, SerializationContext(topic, MessageField.VALUE))
        if data is None:
            raise SerializationError("the Avro serializer returned nothing for a null payload")
        return SerializedPayload(
            data=data, content_type=CONTENT_TYPE_AVRO, schema_id=confluent_schema_id(data)
        )
