"""The stack's Kafka is a real broker: idempotent produce, transactions, read_committed."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import KafkaError, Message, Producer

Consume = Callable[..., list[Message]]


def test_idempotent_producer_round_trip_keeps_order_per_key(
    kafka_bootstrap: str, new_topic: Callable[..., str], consume: Consume
) -> None:
    topic = new_topic("roundtrip", partitions=3)
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"}
    )
    errors: list[KafkaError] = []

    def on_delivery(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            errors.append(error)

    sent = [(f"key-{i % 5}", f"value-{i}") for i in range(200)]
    for key, value in sent:
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
    assert producer.flush(30) == 0
    assert errors == []

    received = consume(topic, len(sent))
    assert len(received) == len(sent)
    by_key: dict[str, list[str]] = {}
    for message in received:
        raw_key, raw_value = message.key(), message.value()
        assert raw_key is not None
        assert raw_value is not None
        by_key.setdefault(raw_key.decode(), []).append(raw_value.decode())
    expected: dict[str, list[str]] = {}
    for key, value in sent:
        expected.setdefault(key, []).append(value)
    assert by_key == expected


def test_read_committed_consumer_sees_only_committed_transactions(
    kafka_bootstrap: str,
    new_topic: Callable[..., str],
    consume: Consume,
    unique_name: Callable[[str], str],
) -> None:
    topic = new_topic("tx")
    producer = Producer(
        {"bootstrap.servers": kafka_bootstrap, "transactional.id": unique_name("txid")}
    )
    producer.init_transactions(30)
    for batch, commit in (("first", True), ("aborted", False), ("second", True)):
        producer.begin_transaction()
        for i in range(3):
            producer.produce(topic, key=batch, value=f"{batch}-{i}")
        if commit:
            producer.commit_transaction(30)
        else:
            producer.flush(30)
            producer.abort_transaction(30)

    committed = consume(topic, 6, isolation="read_committed")
    assert [m.value() for m in committed] == [
        f"{batch}-{i}".encode() for batch in ("first", "second") for i in range(3)
    ]
    # The aborted records really were written: an uncommitted reader sees all nine.
    everything = consume(topic, 9, isolation="read_uncommitted")
    assert sorted(m.value() or b"" for m in everything) == sorted(
        f"{batch}-{i}".encode() for batch in ("first", "aborted", "second") for i in range(3)
    )
