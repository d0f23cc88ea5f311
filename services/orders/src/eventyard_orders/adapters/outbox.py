"""The service's outbox: saga commands as JSON, order events as Avro through the registry.

Order events use Confluent's wire format (magic byte, schema id) and RecordNameStrategy
subjects (``eventyard.orders.OrderCreated``, ...), registered on first use.
"""

from __future__ import annotations

from confluent_kafka.schema_registry import SchemaRegistryClient, record_subject_name_strategy

from eventyard.outbox import AvroSerializer, Outbox, PayloadSerializer, TopicRouter
from eventyard_orders.adapters.tables import OUTBOX
from eventyard_orders.contracts import schema
from eventyard_orders.domain.events import SUBJECTS

__all__ = ["avro_serializers", "make_outbox"]


def avro_serializers(registry: SchemaRegistryClient) -> dict[str, PayloadSerializer]:
    """An Avro serializer per order event type, from the packaged contracts."""
    conf = {"subject.name.strategy": record_subject_name_strategy, "auto.register.schemas": True}
    return {
        event_type: AvroSerializer(registry, schema(subject), conf=conf)
        for event_type, subject in SUBJECTS.items()
    }


def make_outbox(*, registry_url: str, router: TopicRouter) -> Outbox:
    """The outbox: JSON by default (saga commands), Avro for the order events."""
    registry = SchemaRegistryClient({"url": registry_url})
    return Outbox(table=OUTBOX, router=router, serializers=avro_serializers(registry))
