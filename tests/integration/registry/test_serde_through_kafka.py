"""confluent-kafka's Avro serializer and deserializer, through real Kafka, with our registry."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

ORDER = json.dumps(
    {
        "type": "record",
        "name": "OrderPlaced",
        "namespace": "com.acme.orders",
        "fields": [
            {"name": "order_id", "type": "string"},
            {"name": "amount_cents", "type": "long"},
            {"name": "note", "type": ["null", "string"], "default": None},
        ],
    }
)


def test_avro_messages_travel_through_kafka_with_registry_ids(
    own_registry_url: str, kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("orders")
    producer_side = SchemaRegistryClient({"url": own_registry_url})
    serializer = AvroSerializer(producer_side, ORDER)
    sent: list[dict[str, Any]] = [
        {"order_id": f"o-{i}", "amount_cents": 100 * i, "note": None if i % 2 else "gift"}
        for i in range(5)
    ]
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for value in sent:
        context = SerializationContext(topic, MessageField.VALUE)
        producer.produce(topic, key=value["order_id"], value=serializer(value, context))
    assert producer.flush(30) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": kafka_bootstrap,
            "group.id": f"{topic}-reader",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": own_registry_url}))
    received: list[Any] = []
    raw: list[bytes] = []
    try:
        for _ in range(120):
            if len(received) == len(sent):
                break
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            payload = message.value()
            assert payload is not None
            raw.append(payload)
            context = SerializationContext(topic, MessageField.VALUE)
            received.append(deserializer(payload, context))
    finally:
        consumer.close()

    assert received == sent
    registered = producer_side.get_latest_version(f"{topic}-value")
    # Confluent wire format: magic byte 0, then the registry's 4-byte schema id.
    assert {struct.unpack(">bI", payload[:5]) for payload in raw} == {(0, registered.schema_id)}
