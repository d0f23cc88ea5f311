"""The polling relay: reads committed outbox rows in order and sends them to Kafka.

One iteration: rebalance partitions if due; read the safe horizon; fetch up to ``batch_size``
rows of the owned partitions between the cursor and the horizon; send them (key = aggregate id);
mark only what Kafka acknowledged; set aside what it refused for good; leave the rest. Wait for
a NOTIFY (or the poll interval) when there is nothing to do.

Per-aggregate order: an aggregate's rows are all in one virtual partition, a partition is owned
by one relay at a time, a relay sends a partition's rows in seq order over one idempotent
producer, and it releases a partition only between batches (after the acks).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any

import structlog

from eventyard.kafka import Retry
from eventyard.outbox._assignment import plan
from eventyard.outbox._exceptions import BrokerUnavailable, ConfigError, RetryableError
from eventyard.outbox._model import (
    HEADER_AGGREGATE_TYPE,
    HEADER_CONTENT_TYPE,
    HEADER_EVENT_TYPE,
    HEADER_EXTRA,
    HEADER_ID,
    HEADER_TRACEPARENT,
    HEADER_TRACESTATE,
    OutboxRow,
    OutgoingMessage,
    SendReport,
)
from eventyard.outbox._observability import HealthServer, RelayMetrics
from eventyard.outbox._ports import Horizon, MessageSink, OutboxStore, StoreSession
from eventyard.outbox._routing import TopicRouter

__all__ = ["Relay", "RelayConfig", "RelayStatus", "outgoing_message"]

_log = structlog.get_logger("eventyard.outbox.relay")


def _default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


# Outages are waited out for as long as they last: 0.1 s doubling to 5 s between tries.
_RETRY = Retry(attempts=None, timeout=None, wait_initial=0.1, wait_max=5.0, wait_jitter=0.0)


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    """How a relay runs. Intervals are in seconds.

    ``poll_interval`` is the fallback when no NOTIFY arrives; ``recheck_interval`` the first
    pause while rows wait above the safe horizon for transactions still open (it doubles up to
    ``poll_interval``; a NOTIFY ends it early);
    ``shutdown_grace`` how long ``stop()`` lets in-flight batches collect their acks before the
    rest is returned (left unmarked, sent again later). ``batches_in_flight`` batches may wait
    for acknowledgements while the next is read (1 turns the pipeline off). ``retry``: after the
    ``n``-th failed iteration in a row (PostgreSQL or Kafka away) the relay waits
    ``retry.delay(n)``; it never gives up, so ``retry.attempts`` and ``retry.timeout`` are not
    used. ``retry_initial`` and ``retry_max`` are the old spellings of ``retry.wait_initial`` and
    ``retry.wait_max``: accepted for one more release, with a :class:`DeprecationWarning`.
    """

    name: str = field(default_factory=_default_name)
    router: TopicRouter = field(default_factory=TopicRouter)
    batch_size: int = 500
    batches_in_flight: int = 2
    poll_interval: float = 1.0
    recheck_interval: float = 0.002
    rebalance_interval: float = 2.0
    backlog_interval: float = 5.0
    shutdown_grace: float = 10.0
    liveness_timeout: float = 60.0
    retry: Retry = _RETRY
    health_host: str = "127.0.0.1"
    health_port: int | None = None
    retry_initial: InitVar[float | None] = None
    retry_max: InitVar[float | None] = None

    def __post_init__(self, retry_initial: float | None, retry_max: float | None) -> None:
        old = {"retry_initial": retry_initial, "retry_max": retry_max}
        given = {name: value for name, value in old.items() if value is not None}
        if not given:
            return
        fields = {"retry_initial": "wait_initial", "retry_max": "wait_max"}
        warnings.warn(
            f"RelayConfig({', '.join(given)}) is deprecated: use "
            f"retry=Retry({', '.join(f'{fields[name]}=...' for name in given)})",
            DeprecationWarning,
            stacklevel=3,
        )
        changes: dict[str, Any] = {fields[name]: value for name, value in given.items()}
        try:
            object.__setattr__(self, "retry", dataclasses.replace(self.retry, **changes))
        except ValueError as error:
            raise ConfigError(f"RelayConfig: {error}") from None


@dataclass(frozen=True, kw_only=True)
class _InFlight:
    """A batch submitted to the sink, waiting for its acknowledgements."""

    rows: list[OutboxRow]
    messages: list[OutgoingMessage]
    ticket: object
    started: float


@dataclass(frozen=True, kw_only=True)
class RelayStatus:
    """A snapshot of a relay, for health checks and tests."""

    name: str
    live: bool
    ready: bool
    partitions: tuple[int, ...]
    relays: int
    published: int
    set_aside: int
    returned: int
    horizon: int


def outgoing_message(
    row: OutboxRow, router: TopicRouter, topic: str | None = None
) -> OutgoingMessage:
    """The Kafka message for ``row``: the topic, key and headers Debezium's EventRouter gives."""
    return OutgoingMessage(
        seq=row.seq,
        topic=topic or router.topic(row.aggregate_type),
        key=row.aggregate_id.encode(),
        value=row.payload,
        headers=(
            (HEADER_ID, row.id),
            (HEADER_EVENT_TYPE, row.type),
            (HEADER_AGGREGATE_TYPE, row.aggregate_type),
            (HEADER_CONTENT_TYPE, row.content_type or None),
            (HEADER_TRACEPARENT, row.traceparent or None),
            (HEADER_TRACESTATE, row.tracestate or None),
            (HEADER_EXTRA, row.headers_json),
        ),
    )


class Relay:
    """Moves committed outbox rows to Kafka. Run several at once; they share the partitions.

    ``sink`` is a :class:`MessageSink` or a factory of one (a factory lets the relay build a new
    producer after a fatal Kafka error).
    """

    def __init__(
        self,
        *,
        store: OutboxStore,
        sink: MessageSink | Callable[[], MessageSink],
        config: RelayConfig | None = None,
        metrics: RelayMetrics | None = None,
    ) -> None:
        self.config = config or RelayConfig()
        self.metrics = metrics or RelayMetrics()
        self._store = store
        self._sink_factory: Callable[[], MessageSink] | None = None
        if isinstance(sink, MessageSink):
            self._sink: MessageSink | None = sink
        else:
            self._sink_factory = sink
            self._sink = None
        self._log = _log.bind(relay=self.config.name)
        self._stop = threading.Event()
        self._stop_deadline = float("inf")
        self._session: StoreSession | None = None
        self._owned: set[int] = set()
        self._members = 0
        self._cursor = 0
        self._horizon = 0
        self._latest: int | None = None
        self._unmarked: list[int] = []
        self._next_rebalance = 0.0
        self._next_backlog = 0.0
        self._next_cleanup = 0.0
        self._tick = time.monotonic()
        self._store_ok = False
        self._counts = {"published": 0, "set_aside": 0, "returned": 0}
        self._health: HealthServer | None = None
        self._recheck_delay = 0.0
        self._topics: dict[str, str] = {}
        self._in_flight: deque[_InFlight] = deque()

    # ---------------------------------------------------------------- public API

    @property
    def name(self) -> str:
        """The relay's name (its member id in the group)."""
        return self.config.name

    @property
    def health_port(self) -> int | None:
        """The health endpoint's port once :meth:`run` started it."""
        return self._health.port if self._health else None

    def status(self) -> RelayStatus:
        """Where the relay stands now."""
        return RelayStatus(
            name=self.name,
            live=self._live(),
            ready=self._ready(),
            partitions=tuple(sorted(self._owned)),
            relays=self._members,
            published=self._counts["published"],
            set_aside=self._counts["set_aside"],
            returned=self._counts["returned"],
            horizon=self._horizon,
        )

    def stop(self) -> None:
        """Finish (or return) the batch in flight, release the partitions and return from run().

        Safe to call from a signal handler or another thread.
        """
        if not self._stop.is_set():
            self._stop_deadline = time.monotonic() + self.config.shutdown_grace
            self._stop.set()

    def run(self) -> None:
        """Relay until :meth:`stop` is called; outages of PostgreSQL or Kafka are waited out."""
        self._start_health()
        self._log.info("relay started", partitions=self._store.partitions)
        self._sink_now()  # connect and get the idempotent producer id before the first row
        failures = 0  # failed iterations in a row
        try:
            while not self._stop.is_set():
                try:
                    pause = self.step()
                    failures = 0
                except RetryableError as error:
                    self._on_outage(error)
                    failures += 1
                    pause = self.config.retry.delay(failures)
                except ConfigError:
                    raise  # nothing a retry can fix: stop, loudly
                except Exception:
                    # An unexpected database or client error: start over on a new session
                    # rather than let the relay die; rows not marked are read again.
                    self._log.exception("unexpected error; starting over on a new session")
                    self.metrics.errors.inc()
                    self._on_outage(None)
                    failures += 1
                    pause = self.config.retry.delay(failures)
                if pause > 0 and not self._stop.is_set():
                    self._pause(pause)
        finally:
            self._shutdown()

    def step(self) -> float:
        """One iteration (connect, rebalance, one batch); how long to wait before the next."""
        self._tick = time.monotonic()
        session = self._connected()
        now = time.monotonic()
        if self._unmarked:
            # Acknowledged by Kafka before the store went away: mark them now.
            session.complete(self._unmarked)
            self._count(published=len(self._unmarked), set_aside=0, returned=0)
            self._unmarked = []
        if now >= self._next_rebalance:
            self._settle_all(session)  # a partition changes hands only between batches
            self._rebalance(session)
        if now >= self._next_backlog:
            self._measure(session)
            self._next_backlog = now + self.config.backlog_interval
        retention = self._store.cleanup_policy.retention
        if retention is not None and now >= self._next_cleanup:
            removed = session.cleanup(retention)
            if removed:
                self._log.info("removed published rows past retention", rows=removed)
            self._next_cleanup = now + self._store.cleanup_policy.interval.total_seconds()
        return self._batch(session)

    # ---------------------------------------------------------------- the batch

    def _batch(self, session: StoreSession) -> float:
        if self._cursor + self.config.batch_size <= self._horizon and self._latest is not None:
            # A backlog below the known horizon: a horizon never goes stale (rows below it stay
            # final), so read on without asking again.
            horizon = Horizon(safe=self._horizon, latest=self._latest)
        else:
            horizon = session.horizon()
        advanced = horizon.safe > self._horizon
        self._horizon = horizon.safe
        self._latest = horizon.latest
        self.metrics.horizon.set(horizon.safe)
        if not self._owned:
            self._settle_all(session)
            return self.config.poll_interval
        rows: list[OutboxRow] = []
        if len(self._in_flight) < self.config.batches_in_flight:
            rows = session.fetch(
                self._owned, after=self._cursor, upto=horizon.safe, limit=self.config.batch_size
            )
            if rows:
                self._submit(rows)
            if len(rows) < self.config.batch_size:
                self._cursor = max(self._cursor, horizon.safe)
            else:
                self._cursor = rows[-1].seq
        if self._in_flight and (not rows or len(self._in_flight) >= self.config.batches_in_flight):
            if not self._settle(session, self._in_flight.popleft()):
                self._settle_all(session)
                return self.config.retry.wait_initial  # Kafka is struggling: do not spin
            self._recheck_delay = self.config.recheck_interval
            return 0.0
        if rows:
            return 0.0
        if horizon.latest > horizon.safe:
            # Rows wait for writers that are still open: look again soon, then less often.
            return self._recheck(advanced)
        return self.config.poll_interval

    def _submit(self, rows: list[OutboxRow]) -> None:
        messages = [
            outgoing_message(row, self.config.router, self._topic(row.aggregate_type))
            for row in rows
        ]
        started = time.monotonic()
        ticket = self._sink_now().submit(messages, give_up=self._give_up)
        self._in_flight.append(
            _InFlight(rows=rows, messages=messages, ticket=ticket, started=started)
        )

    def _settle(self, session: StoreSession, batch: _InFlight) -> bool:
        """Collect a submitted batch's outcome and mark it; False if some rows were not sent."""
        sink = self._sink_now()
        report = sink.collect(batch.ticket, give_up=self._give_up)
        if report.rejected:
            report = self._isolate(batch.messages, report)
        delivered = list(report.delivered)
        self._unmarked = delivered  # kept until marked, in case the store is away right now
        session.complete(delivered)
        self._unmarked = []
        for seq, reason in report.rejected.items():
            session.set_aside(seq, reason)
            self._log.error("kafka refused a row for good; set aside", seq=seq, error=reason)
        done = set(delivered) | set(report.rejected)
        not_done = [row.seq for row in batch.rows if row.seq not in done]
        self._count(
            published=len(delivered), set_aside=len(report.rejected), returned=len(not_done)
        )
        self.metrics.batch_seconds.observe(time.monotonic() - batch.started)
        self.metrics.batch_size.observe(len(batch.rows))
        if not_done:
            # Read them again: the cursor goes back below the first row not sent.
            self._cursor = min(self._cursor, min(not_done) - 1)
        return not not_done

    def _settle_all(self, session: StoreSession) -> None:
        while self._in_flight:
            self._settle(session, self._in_flight.popleft())

    def _topic(self, aggregate_type: str) -> str:
        topic = self._topics.get(aggregate_type)
        if topic is None:
            topic = self._topics[aggregate_type] = self.config.router.topic(aggregate_type)
        return topic

    def _isolate(self, messages: list[OutgoingMessage], report: SendReport) -> SendReport:
        """Send each refused message alone: a broker refuses a whole record batch that is over a
        topic's ``max.message.bytes``, so only what is refused on its own is set aside."""
        delivered = list(report.delivered)
        rejected: dict[int, str] = {}
        unsent = list(report.unsent)
        for message in messages:
            if message.seq not in report.rejected:
                continue
            alone = self._sink_now().send([message], give_up=self._give_up)
            delivered += alone.delivered
            rejected.update(alone.rejected)
            unsent += alone.unsent
        return SendReport(delivered=tuple(delivered), rejected=rejected, unsent=tuple(unsent))

    def _recheck(self, advanced: bool) -> float:
        if advanced or self._recheck_delay <= 0:
            self._recheck_delay = self.config.recheck_interval
        else:
            self._recheck_delay = min(self._recheck_delay * 2, self.config.poll_interval)
        return self._recheck_delay

    def _give_up(self) -> bool:
        self._tick = time.monotonic()
        return self._stop.is_set() and time.monotonic() >= self._stop_deadline

    def _count(self, *, published: int, set_aside: int, returned: int) -> None:
        self._counts["published"] += published
        self._counts["set_aside"] += set_aside
        self._counts["returned"] += returned
        self.metrics.published.inc(published)
        self.metrics.set_aside.inc(set_aside)
        self.metrics.returned.inc(returned)

    # ---------------------------------------------------------------- partitions

    def _rebalance(self, session: StoreSession) -> None:
        self._members = session.members()
        step = plan(
            member=self.name,
            owned=frozenset(self._owned),
            partitions=self._store.partitions,
            members=self._members,
        )
        for partition in step.release:
            session.release(partition)
            self._owned.discard(partition)
        gained: list[int] = []
        for partition in step.candidates:
            if len(gained) >= step.want:
                break
            if session.try_acquire(partition):
                self._owned.add(partition)
                gained.append(partition)
        if gained:
            self._cursor = 0  # the new partitions' rows may lie below the cursor
        if gained or step.release:
            self._log.info(
                "partitions rebalanced",
                relays=self._members,
                owned=len(self._owned),
                gained=len(gained),
                released=len(step.release),
            )
        self.metrics.partitions_owned.set(len(self._owned))
        self.metrics.relays.set(self._members)
        short = len(self._owned) < step.share
        interval = self.config.rebalance_interval
        self._next_rebalance = time.monotonic() + (min(interval, 0.5) if short else interval)

    # ---------------------------------------------------------------- plumbing

    def _connected(self) -> StoreSession:
        if self._session is None:
            self._session = self._store.connect(self.name)
            self._owned.clear()
            self._cursor = 0
            self._next_rebalance = 0.0
            self._store_ok = True
            self._log.info("connected to the outbox store")
        return self._session

    def _sink_now(self) -> MessageSink:
        if self._sink is None:
            assert self._sink_factory is not None
            self._sink = self._sink_factory()
        return self._sink

    def _on_outage(self, error: RetryableError | None) -> None:
        self._rescue_in_flight()
        if error is not None:
            self._log.warning("outage; backing off", error=str(error), kind=type(error).__name__)
        if isinstance(error, BrokerUnavailable) and self._sink_factory is not None:
            if self._sink is not None:
                self._sink.close()
            self._sink = None
        else:
            self._store_ok = False
            self._drop_session()
        self.metrics.ready.set(0)

    def _rescue_in_flight(self) -> None:
        """After an outage: keep what Kafka acknowledged for marking; read the rest again."""
        while self._in_flight:
            batch = self._in_flight.popleft()
            if self._sink is None:
                continue
            try:
                report = self._sink.collect(batch.ticket, give_up=self._give_up)
            except RetryableError:
                continue
            self._unmarked += report.delivered
        self._cursor = 0

    def _drop_session(self) -> None:
        if self._session is not None:
            self._session.close()
        self._session = None
        self._owned.clear()
        self.metrics.partitions_owned.set(0)

    def _measure(self, session: StoreSession) -> None:
        backlog = session.backlog()
        self.metrics.backlog.set(backlog.pending)
        self.metrics.oldest_pending_seconds.set(backlog.oldest_age_s or 0.0)
        self.metrics.set_aside_rows.set(backlog.set_aside)
        self.metrics.ready.set(1 if self._ready() else 0)

    def _pause(self, seconds: float) -> None:
        session = self._session
        if session is None or seconds < 0.05:
            self._stop.wait(seconds)
            return
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._tick = time.monotonic()
            try:
                if session.wait(min(left, 0.25)):
                    return
            except RetryableError as error:
                self._on_outage(error)
                return
            except Exception:
                self._log.exception("unexpected error while waiting; starting over")
                self.metrics.errors.inc()
                self._on_outage(None)
                return

    def _live(self) -> bool:
        return time.monotonic() - self._tick < self.config.liveness_timeout

    def _ready(self) -> bool:
        sink_ready = self._sink.ready() if self._sink is not None else True
        return self._session is not None and self._store_ok and sink_ready

    def _detail(self) -> Mapping[str, Any]:
        status = self.status()
        return {
            "relay": status.name,
            "live": status.live,
            "ready": status.ready,
            "partitions": len(status.partitions),
            "relays": status.relays,
            "published": status.published,
        }

    def _start_health(self) -> None:
        if self.config.health_port is None or self._health is not None:
            return
        self._health = HealthServer(
            host=self.config.health_host,
            port=self.config.health_port,
            live=self._live,
            ready=self._ready,
            detail=self._detail,
            metrics=self.metrics,
        )
        self._health.start()
        self._log.info("health endpoint listening", port=self._health.port)

    def _shutdown(self) -> None:
        if self._session is not None:
            try:
                self._settle_all(self._session)
            except RetryableError:
                self._rescue_in_flight()
        if self._unmarked and self._session is not None:
            try:
                self._session.complete(self._unmarked)
                self._unmarked = []
            except RetryableError:
                self._log.warning("could not mark acknowledged rows; they will be sent again")
        self._drop_session()
        if self._sink is not None:
            self._sink.close()
        if self._health is not None:
            self._health.stop()
            self._health = None
        self._log.info("relay stopped", published=self._counts["published"])
