"""The inbox: an idempotent confluent-kafka consumer whose effects happen exactly once.

For each message, one database transaction records the message id in the inbox table and runs
the handler; a repeat of the id finds the row and is skipped. The offset is stored for commit
only after that transaction committed, so a crash in between redelivers the message and the
inbox skips it. A handler that keeps failing (``max_attempts``, counted in the inbox table so
restarts do not reset it) sends the message to a dead-letter topic, with error headers, and the
consumer goes on. Outages (the database away, :class:`RetryLater`) pause the partition and retry
without counting an attempt. Every message is handled in a ``process <topic>`` CONSUMER span
whose parent is the publisher's span, read from the ``traceparent`` header.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from opentelemetry.trace import Status, StatusCode, TracerProvider
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from eventyard.kafka import StaticMemberGuard
from eventyard.outbox._exceptions import ConfigurationError, RejectMessage, RetryLater
from eventyard.outbox._model import (
    HEADER_AGGREGATE_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_EVENT_TYPE,
    HEADER_ID,
)
from eventyard.outbox._schema import InboxTable
from eventyard.outbox._tracing import INSTRUMENTATION, consumer_span

__all__ = ["InboundMessage", "InboxConfig", "InboxConsumer", "InboxStats", "dead_letter_headers"]

_log = structlog.get_logger("eventyard.outbox.inbox")

Handler = Callable[[Session, "InboundMessage"], None]

# Statement templates; ``{t}`` is the inbox table's quoted, validated name.
_CLAIM = (
    "INSERT INTO {t} (consumer, message_id, state, topic, kafka_partition, kafka_offset) "
    "VALUES (:consumer, :id, 'applied', :topic, :partition, :offset) "
    "ON CONFLICT (consumer, message_id) DO UPDATE SET state = 'applied', "
    "received_at = now(), last_error = NULL "
    "WHERE {t}.state = 'failing' RETURNING attempts"
)
_FAIL = (
    "INSERT INTO {t} (consumer, message_id, state, attempts, last_error, topic, "
    "kafka_partition, kafka_offset) "
    "VALUES (:consumer, :id, 'failing', 1, :error, :topic, :partition, :offset) "
    "ON CONFLICT (consumer, message_id) DO UPDATE SET attempts = "
    "{t}.attempts + 1, last_error = excluded.last_error, received_at = now() "
    "WHERE {t}.state = 'failing' RETURNING attempts"
)
_DEAD = (
    "INSERT INTO {t} (consumer, message_id, state, attempts, last_error, topic, "
    "kafka_partition, kafka_offset) "
    "VALUES (:consumer, :id, 'dead', :attempts, :error, :topic, :partition, :offset) "
    "ON CONFLICT (consumer, message_id) DO UPDATE SET state = 'dead', "
    "attempts = excluded.attempts, last_error = excluded.last_error"
)
_EXPIRE = "DELETE FROM {t} WHERE consumer = :consumer AND received_at < now() - :retention"


@dataclass(frozen=True, kw_only=True)
class InboxConfig:
    """How an inbox consumer runs.

    ``name`` identifies the consumer in the inbox table (one table can serve many consumers).
    ``dead_letter_topic`` may use ``{topic}``. Inbox rows older than ``retention`` are deleted
    every ``cleanup_interval`` seconds: a repeat arriving later than that is applied again, so
    keep ``retention`` longer than any redelivery can take.
    """

    name: str
    topics: tuple[str, ...]
    table: InboxTable = field(default_factory=InboxTable)
    max_attempts: int = 5
    retry_backoff: float = 0.2
    retry_backoff_max: float = 10.0
    dead_letter_topic: str = "{topic}.dlt"
    retention: timedelta = timedelta(days=7)
    cleanup_interval: float = 300.0
    poll_timeout: float = 0.5
    batch_size: int = 100

    def __post_init__(self) -> None:
        if not self.topics:
            raise ConfigurationError("an inbox consumer needs at least one topic")
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be at least 1, not {self.max_attempts}")


@dataclass(frozen=True, kw_only=True)
class InboundMessage:
    """A Kafka message as an inbox handler sees it."""

    id: str
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    headers: Mapping[str, str | None]
    timestamp_ms: int | None = None

    @property
    def event_type(self) -> str | None:
        """The ``eventType`` header."""
        return self.headers.get(HEADER_EVENT_TYPE)

    @property
    def aggregate_type(self) -> str | None:
        """The ``aggregateType`` header."""
        return self.headers.get(HEADER_AGGREGATE_TYPE)

    @property
    def content_type(self) -> str | None:
        """The ``contentType`` header."""
        return self.headers.get(HEADER_CONTENT_TYPE)

    def json(self) -> Any:
        """The value decoded as JSON."""
        return json.loads(self.value or b"null")

    @classmethod
    def from_kafka(cls, message: Message) -> InboundMessage:
        """Build from a confluent-kafka message; the id is the ``id`` header, else its position."""
        headers: dict[str, str | None] = {}
        raw = message.headers() or []
        pairs = list(raw.items()) if isinstance(raw, dict) else list(raw)
        for name, value in pairs:
            if value is None or isinstance(value, str):
                headers[name] = value
            else:
                headers[name] = bytes(value).decode(errors="replace")
        topic, partition, offset = (
            str(message.topic()),
            int(message.partition() or 0),
            int(message.offset() or 0),
        )
        key = message.key()
        raw_value = message.value()
        kind, stamp = message.timestamp()
        return cls(
            id=headers.get(HEADER_ID) or f"{topic}/{partition}/{offset}",
            topic=topic,
            partition=partition,
            offset=offset,
            key=None if key is None else bytes(key).decode(errors="replace"),
            value=None if raw_value is None else bytes(raw_value),
            headers=headers,
            timestamp_ms=stamp if kind else None,
        )


@dataclass(kw_only=True)
class InboxStats:
    """What an inbox consumer has done since it started."""

    applied: int = 0
    duplicates: int = 0
    failures: int = 0
    retries: int = 0
    dead_lettered: int = 0


def dead_letter_headers(
    message: InboundMessage, error: BaseException, *, attempts: int, consumer: str
) -> list[tuple[str, str | bytes | None]]:
    """The original headers plus ``eventyard.dlt.*``: exception, attempts, where it came from."""
    headers: list[tuple[str, str | bytes | None]] = [
        (k, v.encode()) for k, v in message.headers.items() if v is not None
    ]
    details = {
        "exception": f"{type(error).__name__}: {error}"[:4000],
        "exception.type": f"{type(error).__module__}.{type(error).__qualname__}",
        "exception.stacktrace": "".join(traceback.format_exception(error))[-8000:],
        "attempts": str(attempts),
        "original.topic": message.topic,
        "original.partition": str(message.partition),
        "original.offset": str(message.offset),
        "consumer": consumer,
        "failed.at": datetime.now(UTC).isoformat(),
    }
    return headers + [(f"eventyard.dlt.{k}", v.encode()) for k, v in details.items()]


def _is_outage(error: BaseException) -> bool:
    """Database connectivity trouble: retry without counting an attempt."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError
    )


class InboxConsumer:
    """Consumes ``config.topics`` with a handler whose effects happen exactly once.

    ``kafka`` is the confluent-kafka consumer config (``bootstrap.servers``, ``group.id``, ...);
    offset storing and committing are managed here. ``sessions`` makes SQLAlchemy sessions (a
    ``sessionmaker``) on the database holding the inbox table and the handler's data.
    """

    def __init__(
        self,
        *,
        kafka: Mapping[str, Any],
        sessions: Callable[[], Session],
        handler: Handler,
        config: InboxConfig,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        for required in ("bootstrap.servers", "group.id"):
            if required not in kafka:
                raise ConfigurationError(f"the inbox consumer's Kafka config needs {required!r}")
        self.config = config
        self.stats = InboxStats()
        self._sessions = sessions
        self._handler = handler
        self._tracer_provider = tracer_provider
        self._group = str(kafka["group.id"])
        self._stop = threading.Event()
        self._paused: dict[tuple[str, int], float] = {}
        self._next_cleanup = 0.0
        self._log = _log.bind(consumer=config.name)
        consumer_conf = {
            "auto.offset.reset": "earliest",
            **kafka,
            "enable.auto.commit": True,
            "enable.auto.offset.store": False,
        }
        self._consumer = Consumer(consumer_conf)
        self._producer = Producer(
            {
                "bootstrap.servers": kafka["bootstrap.servers"],
                "enable.idempotence": True,
                "partitioner": "murmur2_random",
                "linger.ms": 0,
            }
        )
        # A static member checks after each assignment that its group holds every partition.
        self._guard = StaticMemberGuard.for_consumer(consumer_conf, topics=config.topics)
        self._subscribe()
        # The table name comes from InboxTable, which admits plain identifiers only.
        t = config.table.qualified
        self._claim = sa.text(_CLAIM.format(t=t))
        self._fail = sa.text(_FAIL.format(t=t))
        self._dead = sa.text(_DEAD.format(t=t))
        self._expire = sa.text(_EXPIRE.format(t=t))

    # ---------------------------------------------------------------- running

    def run(self) -> None:
        """Consume until :meth:`stop`; then close (committing the stored offsets)."""
        try:
            while not self._stop.is_set():
                self.poll()
        finally:
            self.close()

    def stop(self) -> None:
        """Ask :meth:`run` to return after the message in hand (signal- and thread-safe)."""
        self._stop.set()

    def close(self) -> None:
        """Commit stored offsets and leave the group."""
        with contextlib.suppress(RuntimeError):  # already closed
            self._consumer.close()
        self._producer.flush(5)

    def poll(self, timeout: float | None = None) -> int:
        """Fetch and handle one batch; the number of messages handled (applied or skipped)."""
        self._resume_due()
        self._cleanup_due()
        if self._guard is not None:
            self._guard.check(self._consumer, self._rejoin)
        messages = self._consumer.consume(
            num_messages=self.config.batch_size,
            timeout=self.config.poll_timeout if timeout is None else timeout,
        )
        handled = 0
        held: set[tuple[str, int]] = set()
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    self._log.warning("consume error", error=error.str())
                continue
            where = (str(message.topic()), int(message.partition() or 0))
            if where in held or where in self._paused:
                continue  # a retry of an earlier message of this partition comes first
            if self._handle(message):
                handled += 1
            else:
                held.add(where)
            if self._stop.is_set():
                break
        return handled

    # ---------------------------------------------------------------- one message

    def _handle(self, message: Message) -> bool:
        """Handle one message; False if it must be retried later (the partition is paused)."""
        inbound = InboundMessage.from_kafka(message)
        with consumer_span(
            inbound.headers,
            topic=inbound.topic,
            partition=inbound.partition,
            offset=inbound.offset,
            key=inbound.key,
            message_id=inbound.id,
            group=self._group,
            tracer_provider=self._tracer_provider,
            instrumentation_name=INSTRUMENTATION,
        ) as span:
            try:
                applied = self._apply(inbound)
            except RetryLater as error:
                span.set_attribute("eventyard.outcome", "retry")
                return self._retry(message, inbound, error, attempts=0)
            except RejectMessage as error:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                attempts = self._record_failure(inbound, error) or 1
                return self._dead_letter(message, inbound, error, attempts)
            except Exception as error:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                return self._failed(message, inbound, error)
            span.set_attribute("eventyard.outcome", "applied" if applied else "duplicate")
        self._store_offset(message)
        return True

    def _failed(self, message: Message, inbound: InboundMessage, error: Exception) -> bool:
        """The handler raised: retry (outage, or attempts left) or dead-letter."""
        if _is_outage(error):
            return self._retry(message, inbound, error, attempts=0)
        self.stats.failures += 1
        attempts = self._record_failure(inbound, error)
        if attempts is None:  # the database is away too
            return self._retry(message, inbound, error, attempts=0)
        if attempts >= self.config.max_attempts:
            return self._dead_letter(message, inbound, error, attempts)
        return self._retry(message, inbound, error, attempts=attempts)

    def _apply(self, inbound: InboundMessage) -> bool:
        """One transaction: claim the id and run the handler. False for a repeat (skipped)."""
        with self._sessions() as session, session.begin():
            claimed = session.execute(self._claim, self._params(inbound)).first()
            if claimed is None:
                self.stats.duplicates += 1
                return False
            self._handler(session, inbound)
        self.stats.applied += 1
        return True

    def _params(self, inbound: InboundMessage) -> dict[str, Any]:
        return {
            "consumer": self.config.name,
            "id": inbound.id,
            "topic": inbound.topic,
            "partition": inbound.partition,
            "offset": inbound.offset,
        }

    def _record_failure(self, inbound: InboundMessage, error: BaseException) -> int | None:
        try:
            with self._sessions() as session, session.begin():
                row = session.execute(
                    self._fail,
                    {**self._params(inbound), "error": f"{type(error).__name__}: {error}"},
                ).first()
        except Exception as failure:
            if _is_outage(failure):
                return None
            raise
        return self.config.max_attempts if row is None else int(row[0])

    def _retry(
        self, message: Message, inbound: InboundMessage, error: BaseException, *, attempts: int
    ) -> bool:
        self.stats.retries += 1
        delay = min(
            self.config.retry_backoff * 2 ** max(attempts - 1, 0), self.config.retry_backoff_max
        )
        self._log.warning(
            "message failed; retrying",
            message_id=inbound.id,
            topic=inbound.topic,
            offset=inbound.offset,
            attempts=attempts,
            error=f"{type(error).__name__}: {error}",
            retry_in_s=round(delay, 3),
        )
        where = TopicPartition(inbound.topic, inbound.partition, inbound.offset)
        try:
            self._consumer.pause([where])
            self._consumer.seek(where)
        except KafkaException as failure:
            self._log.warning("could not rewind the partition", error=str(failure))
        self._paused[(inbound.topic, inbound.partition)] = time.monotonic() + delay
        return False

    def _dead_letter(
        self, message: Message, inbound: InboundMessage, error: BaseException, attempts: int
    ) -> bool:
        topic = self.config.dead_letter_topic.format(topic=inbound.topic)
        headers = dead_letter_headers(inbound, error, attempts=attempts, consumer=self.config.name)
        delivered: list[KafkaError | None] = []
        while not delivered or delivered[-1] is not None:
            delivered.clear()
            self._producer.produce(
                topic,
                key=message.key(),
                value=message.value(),
                headers=headers,
                on_delivery=lambda err, _msg: delivered.append(err),
            )
            while not delivered:
                self._producer.poll(0.1)
                if self._stop.is_set() and not delivered:
                    self._producer.flush(5)
                    if not delivered:
                        return False  # not stored: the message comes back after a restart
            if delivered[-1] is not None:
                self._log.warning("dead-letter send failed; retrying", error=str(delivered[-1]))
                time.sleep(self.config.retry_backoff)
        self.stats.dead_lettered += 1
        self._log.error(
            "message dead-lettered",
            message_id=inbound.id,
            topic=inbound.topic,
            offset=inbound.offset,
            dead_letter_topic=topic,
            attempts=attempts,
            error=f"{type(error).__name__}: {error}",
        )
        try:
            with self._sessions() as session, session.begin():
                session.execute(
                    self._dead,
                    {**self._params(inbound), "attempts": attempts, "error": str(error)[:2000]},
                )
        except Exception as failure:
            if not _is_outage(failure):
                raise
            self._log.warning("could not record the dead letter in the inbox", error=str(failure))
        self._store_offset(message)
        return True

    # ---------------------------------------------------------------- plumbing

    def _store_offset(self, message: Message) -> None:
        try:
            self._consumer.store_offsets(message=message)
        except KafkaException as error:
            # The partition was revoked meanwhile: its new owner finds the id in the inbox.
            self._log.info("offset not stored", error=str(error))

    def _resume_due(self) -> None:
        now = time.monotonic()
        due = [where for where, at in self._paused.items() if at <= now]
        if due:
            try:
                self._consumer.resume([TopicPartition(t, p) for t, p in due])
            except KafkaException as error:
                self._log.info("could not resume partitions", error=str(error))
            for where in due:
                del self._paused[where]

    def _subscribe(self) -> None:
        self._consumer.subscribe(
            list(self.config.topics), on_assign=self._on_assign, on_revoke=self._on_revoke
        )

    def _rejoin(self) -> None:
        """Rejoin the group with a full rebalance (see :class:`StaticMemberGuard`)."""
        self._consumer.unsubscribe()
        self._subscribe()

    def _on_assign(self, _consumer: Consumer, _partitions: Sequence[TopicPartition]) -> None:
        if self._guard is not None:
            self._guard.assigned()

    def _on_revoke(self, _consumer: Consumer, partitions: Sequence[TopicPartition]) -> None:
        for tp in partitions:
            self._paused.pop((tp.topic, tp.partition), None)

    def _cleanup_due(self) -> None:
        now = time.monotonic()
        if now < self._next_cleanup:
            return
        self._next_cleanup = now + self.config.cleanup_interval
        try:
            with self._sessions() as session, session.begin():
                result = session.execute(
                    self._expire, {"consumer": self.config.name, "retention": self.config.retention}
                )
            removed = getattr(result, "rowcount", 0)
            if removed:
                self._log.info("expired inbox rows", rows=removed)
        except Exception as error:
            if not _is_outage(error):
                raise
            self._next_cleanup = now + self.config.retry_backoff_max
