"""The Kafka sink: an idempotent confluent-kafka producer that never times a message out.

Why no timeout: a message that times out while later ones of the same partition are delivered
leaves a gap (librdkafka documents 1, 4, 5 written after 2 and 3 timed out). Sending 2 and 3
again would put them after 4 and 5: per-aggregate order broken. With ``message.timeout.ms=0``
librdkafka retries until the broker is back, in order, and the relay simply waits (its health
endpoint reports not ready meanwhile). On shutdown the relay purges what is still queued and
leaves those rows unmarked: whatever the broker holds is a prefix of what was sent, so sending
them again later only adds duplicates *after* their first copies.

The partitioner is ``murmur2_random``, Java's, so a key lands in the same Kafka partition as
when Kafka Connect (Debezium) produces it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import structlog
from confluent_kafka import KafkaError, KafkaException, Message, Producer

from eventyard.outbox._exceptions import BrokerUnavailable, ConfigError
from eventyard.outbox._model import OutgoingMessage, SendReport
from eventyard.outbox._ports import MessageSink

__all__ = ["KafkaSink", "producer_config"]

_log = structlog.get_logger("eventyard.outbox.kafka")

#: Delivery errors that no retry can fix: the row is set aside.
_PERMANENT: Final = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_MSG,
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.INVALID_RECORD,
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.TOPIC_EXCEPTION,
        KafkaError._INVALID_ARG,
    }
)

#: Settings the relay's ordering depends on; overriding them is refused.
_FIXED: Final[Mapping[str, object]] = {
    "enable.idempotence": True,
    "acks": "all",
    "message.timeout.ms": 0,
}


class _Batch:
    """Delivery reports of one batch: a count, and the failures (rare) by seq."""

    __slots__ = ("done", "errors", "failures")

    def __init__(self) -> None:
        self.done = 0
        self.errors = 0
        self.failures: dict[int, KafkaError] = {}

    def on_delivery(self, seq: int, error: KafkaError | None, _message: Message) -> None:
        self.done += 1
        if error is not None:
            self.errors += 1
            self.failures[seq] = error


class _Submitted:
    """A batch handed to the producer: what was queued, what was refused at once, the reports."""

    __slots__ = ("batch", "messages", "produced", "refused")

    def __init__(self, messages: Sequence[OutgoingMessage]) -> None:
        self.messages = messages
        self.produced: list[OutgoingMessage] = []
        self.refused: dict[int, str] = {}
        self.batch = _Batch()


def producer_config(
    bootstrap_servers: str,
    *,
    client_id: str = "eventyard-outbox-relay",
    max_message_bytes: int = 1_000_000,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The relay's producer settings; ``extra`` may tune anything but idempotence and timeouts."""
    extra = dict(extra or {})
    for key, value in _FIXED.items():
        for alias in {key, "delivery.timeout.ms" if key == "message.timeout.ms" else key}:
            if alias in extra and str(extra[alias]).lower() != str(value).lower():
                raise ConfigError(
                    f"producer setting {alias}={extra[alias]!r} is not allowed: the relay's "
                    f"ordering depends on {key}={value}"
                )
    return {
        "bootstrap.servers": bootstrap_servers,
        "client.id": client_id,
        "partitioner": "murmur2_random",
        "linger.ms": 5,
        "max.in.flight.requests.per.connection": 5,
        "message.max.bytes": max(max_message_bytes + 1024, 1_000_000),
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 2000,
        **extra,
        **_FIXED,
    }


class KafkaSink(MessageSink):
    """Sends a relay's batches with one idempotent producer."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._lock = threading.Lock()
        self._brokers_down = False
        self._fatal: KafkaError | None = None
        self._probe_at = 0.0
        conf = dict(config)
        conf["error_cb"] = self._on_error
        try:
            self._producer = Producer(conf)
        except KafkaException as error:
            raise ConfigError(f"Kafka producer settings: {error}") from error

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = error
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self._brokers_down = True
        _log.warning("kafka client error", error=error.str(), code=error.name())

    def submit(
        self, messages: Sequence[OutgoingMessage], *, give_up: Callable[[], bool]
    ) -> _Submitted:
        submitted = _Submitted(messages)
        for message in messages:
            if not self._produce(message, submitted.batch, submitted.refused, give_up):
                break
            if message.seq not in submitted.refused:
                submitted.produced.append(message)
            if give_up():
                break
        self._producer.poll(0)
        return submitted

    def collect(self, ticket: object, *, give_up: Callable[[], bool]) -> SendReport:
        if not isinstance(ticket, _Submitted):
            raise TypeError("collect() takes what this sink's submit() returned")
        batch, produced, refused = ticket.batch, ticket.produced, ticket.refused
        while batch.done < len(produced) and self._fatal is None:
            self._producer.poll(0.05)
            if batch.done < len(produced) and give_up():
                self._producer.purge(in_queue=True, in_flight=True, blocking=True)
                self._producer.poll(0)
                break
        if self._fatal is not None:
            fatal = self._fatal
            self._producer.purge(in_queue=True, in_flight=True, blocking=True)
            self._producer.poll(0)
            raise BrokerUnavailable(f"the Kafka producer failed for good: {fatal.str()}")
        messages = ticket.messages
        if batch.done == len(produced) and not batch.errors:
            self._brokers_down = False
            delivered = tuple(m.seq for m in produced)
            unsent = tuple(m.seq for m in messages[len(produced) + len(refused) :])
            return SendReport(delivered=delivered, rejected=refused, unsent=unsent)
        return self._sort_out(messages, produced, batch, refused)

    def _produce(
        self,
        message: OutgoingMessage,
        batch: _Batch,
        refused: dict[int, str],
        give_up: Callable[[], bool],
    ) -> bool:
        """Queue one message; False if the relay gave up while the queue was full."""
        while True:
            try:
                self._producer.produce(
                    message.topic,
                    value=message.value,
                    key=message.key,
                    headers=list(message.headers),
                    on_delivery=functools.partial(batch.on_delivery, message.seq),
                )
                return True
            except BufferError:
                self._producer.poll(0.05)
                if give_up():
                    return False
            except KafkaException as error:
                refused[message.seq] = str(error.args[0] if error.args else error)
                return True

    def _sort_out(
        self,
        messages: Sequence[OutgoingMessage],
        produced: list[OutgoingMessage],
        batch: _Batch,
        refused: dict[int, str],
    ) -> SendReport:
        """Which messages were delivered, refused for good, or not known to be sent."""
        rejected = dict(refused)
        for seq, error in batch.failures.items():
            if error.code() in _PERMANENT:
                rejected[seq] = error.str()
            elif error.fatal():
                self._fatal = error
            # purged or transient: neither acknowledged nor refused, so unsent
        if batch.done < len(produced):
            # Gave up with reports missing: only a full set says who was acknowledged.
            delivered: tuple[int, ...] = ()
        else:
            delivered = tuple(m.seq for m in produced if m.seq not in batch.failures)
        unsent = tuple(m.seq for m in messages if m.seq not in delivered and m.seq not in rejected)
        return SendReport(delivered=delivered, rejected=rejected, unsent=unsent)

    def ready(self) -> bool:
        if self._fatal is not None:
            return False
        if not self._brokers_down:
            return True
        now = time.monotonic()
        with self._lock:
            if now - self._probe_at < 2.0:
                return False
            self._probe_at = now
        try:
            self._producer.list_topics(timeout=1.0)
        except KafkaException:
            return False
        self._brokers_down = False
        return True

    def close(self) -> None:
        self._producer.purge(in_queue=True, in_flight=False, blocking=True)
        self._producer.flush(0)
