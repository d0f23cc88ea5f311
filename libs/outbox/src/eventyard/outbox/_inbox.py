"""The inbox: an idempotent confluent-kafka consumer whose effects happen exactly once.

For each message, one database transaction records the message id in the inbox table and runs
the handler; a repeat of the id finds the row and is skipped. The offset is stored for commit
only after that transaction committed, so a crash in between redelivers the message and the
inbox skips it. A handler that keeps failing (``retry.attempts``, counted in the inbox table so
restarts do not reset it) sends the message to a dead-letter topic, with error headers, and the
consumer goes on. Outages (the database away, :class:`RetryLater`) pause the partition and retry
without counting an attempt. Every message is handled in a ``process <topic>`` CONSUMER span
whose parent is the publisher's span, read from the ``traceparent`` header.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from opentelemetry.trace import Status, StatusCode, TracerProvider
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from eventyard.kafka import Retry, StaticMemberGuard, Tracking
from eventyard.kafka import dead_letter_headers as kafka_dead_letter_headers
from eventyard.outbox._exceptions import ConfigError, RejectMessage, RetryLater
from eventyard.outbox._inbox_store import InboxStore
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

# 5 tries; waits of 0.2, 0.4, 0.8 ... seconds, at most 10 s. Attempts are counted in the inbox
# table, across restarts, so no time limit applies.
_RETRY = Retry(attempts=5, timeout=None, wait_initial=0.2, wait_max=10.0, wait_jitter=0.0)

# The settings InboxConfig had before ``retry``, and the Retry field each one became.
_DEPRECATED = {
    "max_attempts": "attempts",
    "retry_backoff": "wait_initial",
    "retry_backoff_max": "wait_max",
}


@dataclass(frozen=True, kw_only=True)
class InboxConfig:
    """How an inbox consumer runs.

    ``name`` identifies the consumer in the inbox table (one table can serve many consumers).
    ``retry``: a message whose handler raises is tried ``retry.attempts`` times in all (counted
    in the inbox table, so restarts do not reset the count; None: until it succeeds), its
    partition paused for ``retry.delay(n)`` seconds after failure ``n``, and then goes to
    ``dead_letter_topic`` (which may use ``{topic}``). Outages and :class:`RetryLater` wait
    ``retry.delay(1)`` and use up no attempt; ``retry.timeout`` is not used. Inbox rows older
    than ``retention`` are deleted every ``cleanup_interval`` seconds: a repeat arriving later
    than that is applied again, so keep ``retention`` longer than any redelivery can take.

    ``max_attempts``, ``retry_backoff`` and ``retry_backoff_max`` are the old spellings of
    ``retry.attempts``, ``retry.wait_initial`` and ``retry.wait_max``: accepted for one more
    release (they override those fields of ``retry``), with a :class:`DeprecationWarning`.
    """

    name: str
    topics: tuple[str, ...]
    table: InboxTable = field(default_factory=InboxTable)
    retry: Retry = _RETRY
    dead_letter_topic: str = "{topic}.dlt"
    retention: timedelta = timedelta(days=7)
    cleanup_interval: float = 300.0
    poll_timeout: float = 0.5
    batch_size: int = 100
    max_attempts: InitVar[int | None] = None
    retry_backoff: InitVar[float | None] = None
    retry_backoff_max: InitVar[float | None] = None

    def __post_init__(
        self,
        max_attempts: int | None,
        retry_backoff: float | None,
        retry_backoff_max: float | None,
    ) -> None:
        if not self.topics:
            raise ConfigError("an inbox consumer needs at least one topic")
        given = {
            "max_attempts": max_attempts,
            "retry_backoff": retry_backoff,
            "retry_backoff_max": retry_backoff_max,
        }
        old = {name: value for name, value in given.items() if value is not None}
        if old:
            fields = ", ".join(f"{_DEPRECATED[name]}=..." for name in old)
            warnings.warn(
                f"InboxConfig({', '.join(old)}) is deprecated: use retry=Retry({fields})",
                DeprecationWarning,
                stacklevel=3,
            )
            changes: dict[str, Any] = {_DEPRECATED[name]: value for name, value in old.items()}
            try:
                object.__setattr__(self, "retry", dataclasses.replace(self.retry, **changes))
            except ValueError as error:
                raise ConfigError(f"InboxConfig: {error}") from None


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
    """The message's own headers (but null ones), then the ``eventyard.dlt.*`` headers of
    :func:`eventyard.kafka.dead_letter_headers`: what failed, where, after how many attempts."""
    headers: list[tuple[str, str | bytes | None]] = [
        (k, v.encode()) for k, v in message.headers.items() if v is not None
    ]
    return headers + kafka_dead_letter_headers(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        error=error,
        consumer=consumer,
        attempts=attempts,
        stage="handle",
    )


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
    ``store`` is the :class:`InboxStore` on ``config.table``, through which the inbox records
    the messages it applied (:class:`eventyard.kafka.ConsumedMessages`).
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
                raise ConfigError(f"the inbox consumer's Kafka config needs {required!r}")
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
        self.store = InboxStore(config.table)

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
        if self.config.retry.gives_up_after(attempts):
            return self._dead_letter(message, inbound, error, attempts)
        return self._retry(message, inbound, error, attempts=attempts)

    def _apply(self, inbound: InboundMessage) -> bool:
        """One transaction: claim the id and run the handler. False for a repeat (skipped)."""
        with self._sessions() as session, session.begin():
            if not self.store.record(session, self._tracking(inbound)):
                self.stats.duplicates += 1
                return False
            self._handler(session, inbound)
        self.stats.applied += 1
        return True

    def _tracking(self, inbound: InboundMessage) -> Tracking:
        return Tracking(
            consumer=self.config.name,
            topic=inbound.topic,
            partition=inbound.partition,
            offset=inbound.offset,
            message_id=inbound.id,
        )

    def _record_failure(self, inbound: InboundMessage, error: BaseException) -> int | None:
        try:
            with self._sessions() as session, session.begin():
                attempts = self.store.record_failure(
                    session, self._tracking(inbound), error=f"{type(error).__name__}: {error}"
                )
        except Exception as failure:
            if _is_outage(failure):
                return None
            raise
        if attempts is not None:
            return attempts
        # The row is no longer failing (dead-lettered or applied meanwhile): the last try.
        return self.config.retry.attempts or 1

    def _retry(
        self, message: Message, inbound: InboundMessage, error: BaseException, *, attempts: int
    ) -> bool:
        self.stats.retries += 1
        delay = self.config.retry.delay(max(attempts, 1))
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
                time.sleep(self.config.retry.wait_initial)
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
                self.store.record_dead(
                    session, self._tracking(inbound), attempts=attempts, error=str(error)[:2000]
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
                removed = self.store.expire(session, self.config.name, self.config.retention)
            if removed:
                self._log.info("expired inbox rows", rows=removed)
        except Exception as error:
            if not _is_outage(error):
                raise
            self._next_cleanup = now + self.config.retry.wait_max
