"""The PostgreSQL orchestrator: starts sagas, handles replies, fires durable timers.

Every change to an instance is one transaction: the row is locked (``FOR UPDATE``), the machine
decides, and the new state (with its ``version`` bumped), the log lines and the commands (rows
of the outbox) are written together. Replies arrive through an :class:`InboxConsumer`, so a
redelivered reply is skipped by the inbox before the machine even sees it; the machine ignores
anything else that does not answer the attempt it waits for.

Timers live in the ``wake_at`` column: a timer pass takes due instances with ``FOR UPDATE SKIP
LOCKED``, so any number of orchestrator processes share the work and each instance is driven by
one at a time. Nothing is kept in memory between transactions: after a crash (or ``kill -9``)
the next pass of any orchestrator carries on, and :meth:`Orchestrator.resume` reports, at
start-up, every unfinished saga of every type and any whose definition is missing.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import InitVar, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from opentelemetry.trace import TracerProvider
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from eventyard.kafka import Retry as RetrySettings
from eventyard.outbox import (
    Event,
    InboundMessage,
    InboxConfig,
    InboxConsumer,
    InboxTable,
    Outbox,
    RejectMessage,
)
from eventyard.saga._core import Driver, LocalResult, Ports, Registry, SagaRecord, message_id
from eventyard.saga._definition import Local, LockConflict, SagaDefinition, Step
from eventyard.saga._exceptions import (
    ConfigError,
    StepFailed,
    StepRetry,
    StoreUnavailable,
    UnknownDefinition,
)
from eventyard.saga._locks import SemanticLocks
from eventyard.saga._machine import Abort, MachineState, Retry, Tick, initial_state
from eventyard.saga._model import (
    EVENT_TYPE_RELEASE,
    EVENT_TYPE_REPLY,
    CommandEnvelope,
    Phase,
    ReplyEnvelope,
    ReplyOutcome,
)
from eventyard.saga._schema import SagaTables
from eventyard.saga._store import SagaStore
from eventyard.saga._tracing import saga_span
from eventyard.telemetry import current_traceparent, trace_id_of

__all__ = ["Orchestrator", "OrchestratorConfig", "ResumeReport", "utc_now"]

_log = structlog.get_logger("eventyard.saga.orchestrator")

DataT = TypeVar("DataT", bound=BaseModel)

# 0.5 s growing to 5 s between tries; resume() at start-up tries 10 times within a minute.
_RETRY = RetrySettings(attempts=10, timeout=60.0, wait_initial=0.5, wait_max=5.0, wait_jitter=0.5)
_TRACKED_FAILURES = 10_000  # instances whose failed wake-ups an orchestrator counts, at most


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def _default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.DisconnectionError
    )


@dataclass(frozen=True, kw_only=True)
class OrchestratorConfig:
    """How an orchestrator runs. Intervals are in seconds.

    - ``reply_channel``: the aggregate type replies are published under (the participants'
      outbox routes it to a topic; the orchestrator's outbox router names the same topic).
    - ``command_channel``: the aggregate type of commands to a participant, ``{participant}``
      filled in.
    - ``timer_interval``: pause between timer passes when nothing was due;
      ``timer_batch``: instances per timer pass (one transaction).
    - ``retry``: the orchestrator's own retries (an :class:`eventyard.kafka.Retry`). An instance
      whose wake-up raised is woken again ``retry.delay(n)`` later, ``n`` counting its failed
      wake-ups in a row (in this process: the count is a hint, not state, and starts over after
      a restart); a timer pass that finds PostgreSQL away is repeated after ``retry.delay(n)``;
      :meth:`Orchestrator.resume` reads the database at most ``retry.attempts`` times within
      ``retry.timeout`` seconds. Wake-ups and timer passes never give up.
    - ``reply_attempts``: how often the reply inbox tries a reply before dead-lettering it.
    - ``error_backoff`` is the old setting of a fixed pause after a failed wake-up: accepted for
      one more release (it sets ``retry``'s waits to that pause), with a
      :class:`DeprecationWarning`.
    """

    name: str = field(default_factory=_default_name)
    reply_channel: str = "saga.replies"
    command_channel: str = "{participant}.commands"
    tables: SagaTables = field(default_factory=SagaTables)
    inbox_table: InboxTable = field(default_factory=InboxTable)
    timer_interval: float = 0.2
    timer_batch: int = 200
    retry: RetrySettings = _RETRY
    reply_attempts: int = 10
    error_backoff: InitVar[float | None] = None

    def __post_init__(self, error_backoff: float | None) -> None:
        if error_backoff is not None:
            warnings.warn(
                "OrchestratorConfig(error_backoff) is deprecated: use "
                "retry=Retry(wait_initial=..., wait_max=..., wait_jitter=0)",
                DeprecationWarning,
                stacklevel=3,
            )
            try:
                fixed = dataclasses.replace(
                    self.retry, wait_initial=error_backoff, wait_max=error_backoff, wait_jitter=0.0
                )
            except ValueError as error:
                raise ConfigError(f"OrchestratorConfig: {error}") from None
            object.__setattr__(self, "retry", fixed)
        if "{participant}" not in self.command_channel:
            raise ConfigError(
                f"command_channel {self.command_channel!r} must contain {{participant}}"
            )
        if self.timer_batch < 1 or self.timer_interval <= 0:
            raise ConfigError("timer_batch and timer_interval must be positive")

    def channel_for(self, participant: str) -> str:
        """The aggregate type of commands to ``participant``."""
        return self.command_channel.replace("{participant}", participant)


@dataclass(frozen=True, kw_only=True)
class ResumeReport:
    """What :meth:`Orchestrator.resume` found at start-up."""

    unfinished: Mapping[tuple[str, int, str], int]
    missing: Mapping[tuple[str, int], int]
    overdue: int

    @property
    def total(self) -> int:
        """Unfinished instances of every type."""
        return sum(self.unfinished.values())


class _PgPorts(Ports):
    """The driver's effects in one PostgreSQL transaction."""

    def __init__(self, orchestrator: Orchestrator, session: Session) -> None:
        self._o = orchestrator
        self._session = session

    def send(self, record: SagaRecord, envelope: CommandEnvelope, participant: str) -> None:
        event = Event(
            aggregate_type=self._o.config.channel_for(participant),
            aggregate_id=str(record.id),
            type=envelope.name,
            payload=envelope.to_json(),
            id=message_id(record.id, envelope.step, envelope.phase.value, envelope.attempt),
            headers={
                "eventyard.saga.id": str(record.id),
                "eventyard.saga.type": envelope.saga_type,
                "eventyard.saga.step": envelope.step,
                "eventyard.saga.phase": envelope.phase.value,
                "eventyard.saga.attempt": str(envelope.attempt),
            },
        )
        self._o.outbox.publish(self._session, event)

    def send_release(self, record: SagaRecord, participant: str) -> None:
        event = Event(
            aggregate_type=self._o.config.channel_for(participant),
            aggregate_id=str(record.id),
            type=EVENT_TYPE_RELEASE,
            payload={"saga_id": str(record.id), "saga_type": record.definition.name},
            id=message_id(record.id, "release", participant),
        )
        self._o.outbox.publish(self._session, event)

    def run_local(
        self,
        record: SagaRecord,
        step: Step[Any],
        operation: Local[Any],
        *,
        lock: str | None,
        on_conflict: LockConflict,
        phase: Phase,
    ) -> LocalResult:
        session = self._session
        try:
            with session.begin_nested():
                if lock is not None:
                    holder = self._o.locks.acquire(
                        session,
                        lock,
                        saga_id=record.id,
                        saga_type=record.definition.name,
                        step=step.name,
                    )
                    if holder is not None:
                        reason = f"{lock} is locked by saga {holder.saga_id} ({holder.saga_type})"
                        outcome = (
                            ReplyOutcome.FAILURE
                            if on_conflict == LockConflict.REJECT
                            else ReplyOutcome.RETRY
                        )
                        return LocalResult(outcome=outcome, reason=reason)
                made = operation.run(session, record.data.model_copy(deep=True))
                if phase == Phase.COMPENSATION and step.lock is not None:
                    self._o.locks.release_step(session, saga_id=record.id, step=step.name)
        except StepFailed as error:
            return LocalResult(outcome=ReplyOutcome.FAILURE, reason=error.reason)
        except StepRetry as error:
            return LocalResult(outcome=ReplyOutcome.RETRY, reason=error.reason)
        except Exception as error:
            if _is_outage(error):
                raise
            _log.warning(
                "local step raised; it will be retried",
                saga_id=str(record.id),
                step=step.name,
                phase=phase.value,
                error=f"{type(error).__name__}: {error}",
                trace_id=record.trace_id,
            )
            return LocalResult(
                outcome=ReplyOutcome.RETRY, reason=f"{type(error).__name__}: {error}"
            )
        return LocalResult(outcome=ReplyOutcome.SUCCESS, data=made)

    def finish(self, record: SagaRecord, hook: Callable[[Session, Any], None] | None) -> None:
        if any(s.lock is not None and isinstance(s.action, Local) for s in record.definition.steps):
            self._o.locks.release_saga(self._session, record.id)
        if hook is not None:
            hook(self._session, record.data)


class Orchestrator:
    """Drives saga instances stored in PostgreSQL.

    ``sessions`` makes SQLAlchemy sessions on the orchestrator's database (a ``sessionmaker``);
    ``outbox`` publishes commands into that database's outbox (its router must route the
    participants' command channels and the reply channel). Register every definition version
    that still has unfinished instances. Nothing connects until a method is called.
    """

    def __init__(
        self,
        *,
        definitions: Iterable[SagaDefinition[Any]],
        sessions: Callable[[], Session],
        outbox: Outbox,
        config: OrchestratorConfig | None = None,
        tracer_provider: TracerProvider | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config or OrchestratorConfig()
        self.registry = Registry(definitions)
        self.outbox = outbox
        self.store = SagaStore(self.config.tables)
        self.locks = SemanticLocks(self.config.tables)
        self.tracer_provider = tracer_provider
        self._sessions = sessions
        self._clock = clock
        self._keys = [f"{name}:{version}" for name, version in self.registry.keys]
        self._stop = threading.Event()
        self._consumer: InboxConsumer | None = None
        self._wake_failures: dict[uuid.UUID, int] = {}  # failed wake-ups in a row, per instance
        self._log = _log.bind(orchestrator=self.config.name)

    # ---------------------------------------------------------------- helpers

    def _driver(self, session: Session) -> Driver:
        return Driver(
            _PgPorts(self, session),
            reply_channel=self.config.reply_channel,
            command_channel=self.config.channel_for,
            tracer_provider=self.tracer_provider,
        )

    def _record(self, row: Row[Any]) -> SagaRecord:
        definition = self.registry.get(row.type, row.definition_version)
        return SagaRecord(
            id=row.id,
            definition=definition,
            data=definition.load(row.payload),
            machine=MachineState.from_json(row.machine),
            version=row.version,
            step_status=dict(row.stepstatus or {}),
            traceparent=row.traceparent,
            trace_id=row.trace_id,
            request=row.request,
            request_reason=row.request_reason,
        )

    @property
    def reply_topic(self) -> str:
        """The Kafka topic replies arrive on (the outbox router applied to the reply channel)."""
        return self.outbox.router.topic(self.config.reply_channel)

    def command_topic(self, participant: str) -> str:
        """The Kafka topic of commands to ``participant``."""
        return self.outbox.router.topic(self.config.channel_for(participant))

    # ---------------------------------------------------------------- starting

    def start(
        self,
        session: Session,
        definition: SagaDefinition[DataT],
        data: DataT | Mapping[str, Any],
        *,
        saga_id: uuid.UUID | None = None,
        run_now: bool = True,
    ) -> uuid.UUID:
        """Create a saga in ``session``'s transaction; it exists if and when that commits.

        With ``run_now`` (the default) its first step is dispatched in the same transaction
        (a first local step runs in it too); otherwise it is stored ``STARTED`` and an
        orchestrator's timer pass begins it. Starting again with the same ``saga_id`` returns
        that id and does nothing else, so a retried request cannot start a saga twice.
        """
        if not self.registry.has(definition.name, definition.version):
            raise UnknownDefinition(
                f"register {definition.name} v{definition.version} with the orchestrator before "
                "starting it (an unregistered saga could never be driven to its end)"
            )
        loaded = definition.load(data)
        sid = saga_id or uuid.uuid4()
        if saga_id is not None:
            existing = self.store.type_of(session, sid)
            if existing is not None:
                if existing != definition.name:
                    raise ConfigError(
                        f"saga {sid} exists already as a {existing}, not a {definition.name}"
                    )
                return sid
        now = self._clock()
        with saga_span(
            saga_type=definition.name,
            version=definition.version,
            saga_id=str(sid),
            tracer_provider=self.tracer_provider,
        ):
            traceparent = current_traceparent()
            record = SagaRecord(
                id=sid,
                definition=definition,
                data=loaded,
                machine=initial_state(now),
                traceparent=traceparent,
                trace_id=trace_id_of(traceparent),
            )
            logs = self._driver(session).begin(record, now).logs if run_now else []
            self.store.insert(session, record, owner=self.config.name)
            self.store.append(session, logs)
        return sid

    # ---------------------------------------------------------------- replies

    def handle_reply(self, session: Session, message: InboundMessage) -> None:
        """The reply inbox's handler: apply one reply in the inbox's transaction."""
        if message.event_type not in (None, EVENT_TYPE_REPLY):
            self._log.info("not a saga reply; skipped", event_type=message.event_type)
            return
        try:
            reply = ReplyEnvelope.from_json(message.json())
        except (ValueError, KeyError, TypeError) as error:
            raise RejectMessage(f"not a saga reply: {type(error).__name__}: {error}") from error
        self.apply_reply(session, reply)

    def apply_reply(self, session: Session, reply: ReplyEnvelope) -> bool:
        """Apply a reply in ``session``'s transaction; True if it moved the saga."""
        row = self.store.lock(session, reply.saga_id)
        if row is None:
            self._log.warning("reply for an unknown saga; skipped", saga_id=str(reply.saga_id))
            return False
        if not self.registry.has(row.type, row.definition_version):
            raise RejectMessage(
                f"saga {row.id} is a {row.type} v{row.definition_version}, which this "
                f"orchestrator does not have (it has: {', '.join(self._keys)})"
            )
        record = self._record(row)
        advance = self._driver(session).reply(record, reply, self._clock())
        if advance.accepted:
            self.store.update(session, record, owner=self.config.name)
        self.store.append(session, advance.logs)
        return advance.accepted

    def reply_consumer(
        self, kafka: Mapping[str, Any], *, inbox: InboxConfig | None = None
    ) -> InboxConsumer:
        """An inbox consumer of the reply topic, handling replies with this orchestrator.

        ``kafka`` is the confluent-kafka config (``bootstrap.servers`` at least; ``group.id``
        defaults to ``eventyard-saga-<reply channel>``, shared by every orchestrator).
        """
        settings = {"group.id": f"eventyard-saga-{self.config.reply_channel}", **kafka}
        config = inbox
        if config is None:
            config = InboxConfig(
                name=f"saga:{self.config.reply_channel}",
                topics=(self.reply_topic,),
                table=self.config.inbox_table,
            )
            attempts = dataclasses.replace(config.retry, attempts=self.config.reply_attempts)
            config = dataclasses.replace(config, retry=attempts)
        return InboxConsumer(
            kafka=settings,
            sessions=self._sessions,
            handler=self.handle_reply,
            config=config,
            tracer_provider=self.tracer_provider,
        )

    # ---------------------------------------------------------------- timers

    def fire_due(self, *, limit: int | None = None) -> int:
        """One timer pass: wake every due instance (up to ``limit``); how many were woken.

        Also carries out operators' requests (retry, abort), which set the timer to now.
        """
        now = self._clock()
        with self._sessions() as session, session.begin():
            rows = self.store.due(
                session, now=now, keys=self._keys, limit=limit or self.config.timer_batch
            )
            for row in rows:
                try:
                    with session.begin_nested():
                        self._wake(session, row, now)
                except Exception as error:
                    if _is_outage(error):
                        raise
                    failures = self._wake_failed(row.id)
                    later = now + timedelta(
                        seconds=self.config.retry.delay(failures, seed=str(row.id))
                    )
                    self._log.exception(
                        "waking a saga failed; trying again later",
                        saga_id=str(row.id),
                        saga_type=row.type,
                        failures=failures,
                        retry_at=later.isoformat(),
                    )
                    self.store.set_wake(session, row.id, later)
                else:
                    self._wake_failures.pop(row.id, None)
        return len(rows)

    def _wake_failed(self, saga_id: uuid.UUID) -> int:
        """Count a failed wake-up of ``saga_id``; its failures in a row (1 for the first)."""
        if saga_id not in self._wake_failures and len(self._wake_failures) >= _TRACKED_FAILURES:
            self._wake_failures.clear()  # forgetting only shortens some waits
        failures = self._wake_failures.get(saga_id, 0) + 1
        self._wake_failures[saga_id] = failures
        return failures

    def _wake(self, session: Session, row: Row[Any], now: datetime) -> None:
        record = self._record(row)
        driver = self._driver(session)
        request = record.request
        if request == "abort":
            advance = driver.advance(
                record, Abort(reason=record.request_reason or "aborted by an operator"), now
            )
        elif request == "retry":
            advance = driver.advance(record, Retry(), now)
        else:
            advance = driver.advance(record, Tick(), now)
        if request is not None:
            record.request = None
            record.request_reason = None
            self.store.update(session, record, owner=self.config.name)
        elif advance.accepted:
            self.store.update(session, record, owner=self.config.name)
        else:
            machine = record.machine
            self.store.set_wake(session, record.id, machine.due if machine.active else None)
        self.store.append(session, advance.logs)

    # ---------------------------------------------------------------- start-up and loops

    def resume(self) -> ResumeReport:
        """At start-up: count unfinished sagas of every type and version, and report those whose
        definition is not registered (they wait until an orchestrator that has it runs).

        Due timers (including every one that came due while no orchestrator ran) are fired by
        the timer loop right after.
        """
        t = self.config.tables.state_q
        query = sa.text(
            f"SELECT type, definition_version, sagastatus, count(*) AS n, "  # noqa: S608 - SagaTables names only
            f"count(*) FILTER (WHERE wake_at <= :now) AS overdue FROM {t} "
            "WHERE sagastatus NOT IN ('COMPLETED', 'COMPENSATED') "
            "GROUP BY type, definition_version, sagastatus"
        )
        for attempt in self.config.retry.context(
            on=(sa_exc.OperationalError, sa_exc.InterfaceError)
        ):
            with attempt, self._sessions() as session:
                rows = session.execute(query, {"now": self._clock()}).all()
        unfinished: dict[tuple[str, int, str], int] = {}
        missing: dict[tuple[str, int], int] = {}
        overdue = 0
        for row in rows:
            unfinished[(row.type, row.definition_version, row.sagastatus)] = int(row.n)
            if not self.registry.has(row.type, row.definition_version):
                key = (row.type, int(row.definition_version))
                missing[key] = missing.get(key, 0) + int(row.n)
            else:
                overdue += int(row.overdue)
        report = ResumeReport(unfinished=unfinished, missing=missing, overdue=overdue)
        self._log.info(
            "resuming unfinished sagas",
            unfinished=report.total,
            overdue=overdue,
            by_type={f"{k[0]} v{k[1]} {k[2]}": n for k, n in sorted(unfinished.items())},
        )
        for (name, version), count in sorted(missing.items()):
            self._log.error(
                "unfinished sagas have no registered definition; register it to finish them",
                saga_type=name,
                version=version,
                count=count,
            )
        return report

    def run_timers(self) -> None:
        """Fire due timers until :meth:`stop`; database outages are waited out (``retry``)."""
        failures = 0  # timer passes in a row that found the database away
        while not self._stop.is_set():
            try:
                woken = self.fire_due()
                failures = 0
                delay = self.config.timer_interval
            except Exception as error:
                if not _is_outage(error) and not isinstance(error, StoreUnavailable):
                    raise
                failures += 1
                delay = self.config.retry.delay(failures)
                self._log.warning(
                    "database unavailable; timer pass postponed",
                    error=str(error),
                    retry_in_s=round(delay, 3),
                )
                woken = 0
            if woken < self.config.timer_batch:
                self._stop.wait(delay)

    def run(self, kafka: Mapping[str, Any], *, inbox: InboxConfig | None = None) -> None:
        """Resume, then handle replies (in this thread) and timers (in another) until
        :meth:`stop` is called. Run as many orchestrator processes as you like."""
        self._stop.clear()
        self.resume()
        consumer = self.reply_consumer(kafka, inbox=inbox)
        self._consumer = consumer
        timers = threading.Thread(target=self.run_timers, name="saga-timers", daemon=True)
        timers.start()
        try:
            consumer.run()
        finally:
            self._stop.set()
            timers.join(30)
            self._consumer = None

    def stop(self) -> None:
        """Ask :meth:`run` and :meth:`run_timers` to return (signal- and thread-safe)."""
        self._stop.set()
        if self._consumer is not None:
            self._consumer.stop()
