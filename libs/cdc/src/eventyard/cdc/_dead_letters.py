"""Poison records to the dead-letter topic: key, value and headers as they came, plus the
``eventyard.dlt.*`` headers of :class:`eventyard.kafka.DeadLetterHeader` saying what failed,
where, at which stage and in which projection (the consumer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from confluent_kafka import KafkaError, Message, Producer

from eventyard.cdc._batch import Item
from eventyard.cdc._exceptions import DeadLetterFailed
from eventyard.kafka import DeadLetterHeader, dead_letter_headers

__all__ = ["DEAD_LETTER_HEADERS", "DeadLetters", "where"]

_log = structlog.get_logger("eventyard.cdc.runner")

DEAD_LETTER_HEADERS = tuple(h.value for h in DeadLetterHeader if h != DeadLetterHeader.ATTEMPTS)
"""Headers added to a dead-lettered record (its own headers, key and value are kept as is): the
names of :class:`eventyard.kafka.DeadLetterHeader` but ``attempts``, which the runner does not
count. ``eventyard.kafka.read_dead_letter`` reads them, and the names written before."""


def where(message: Message) -> str:
    """``topic[partition]@offset`` of a record, for messages."""
    return f"{message.topic()}[{message.partition()}]@{message.offset()}"


class DeadLetters:
    """Sends poison records to ``topic`` with an idempotent producer made on first use."""

    def __init__(
        self,
        *,
        topic: str,
        projection: str,
        bootstrap_servers: str,
        producer_config: Mapping[str, Any],
    ) -> None:
        self.topic = topic
        self._projection = projection
        self._settings = {
            "bootstrap.servers": bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 0,
            **producer_config,
        }
        self._producer: Producer | None = None

    def send(self, poison: list[Item]) -> None:
        """Produce every record and wait for each; :class:`DeadLetterFailed` if any is lost."""
        if self._producer is None:
            self._producer = Producer(self._settings)
        producer = self._producer
        failures: list[str] = []

        def delivered(error: KafkaError | None, _message: Message) -> None:
            if error is not None:
                failures.append(str(error))

        for item in poison:
            message = item.message
            headers: list[tuple[str, str | bytes | None]] = list(message.headers() or [])  # type: ignore[arg-type]
            headers += dead_letter_headers(
                topic=message.topic() or "",
                partition=message.partition() or 0,
                offset=message.offset() or 0,
                error=item.error,
                consumer=self._projection,
                stage=item.stage,
            )
            producer.produce(
                self.topic,
                key=message.key(),
                value=message.value(),
                headers=headers,
                on_delivery=delivered,
            )
            _log.warning(
                "poison record dead-lettered",
                at=where(message),
                stage=item.stage,
                error=str(item.error),
            )
        remaining = producer.flush(30)
        if remaining or failures:
            raise DeadLetterFailed(
                f"{remaining} dead-letter records undelivered; errors: {failures[:3]}"
            )

    def close(self) -> None:
        """Deliver what is still buffered (up to 10 s)."""
        if self._producer is not None:
            self._producer.flush(10)
            self._producer = None
