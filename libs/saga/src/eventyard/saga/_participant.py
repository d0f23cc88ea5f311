"""The participant helper: handle a saga command and reply through the participant's own outbox.

:class:`Participant` is an inbox handler. For each command, in the inbox's transaction, it:

1. looks up what it did before for this saga, step and phase (``saga_participant``): a repeat
   (the same attempt redelivered, or a later attempt after a timeout) replays the first reply
   without running the handler again;
2. refuses an action whose compensation already arrived (it came late: running it now would
   leave an effect nobody undoes), and answers a compensation whose action never took effect
   here with success, without running the compensation handler;
3. takes the step's semantic lock if the command carries one;
4. runs the handler in a savepoint: its return value becomes the reply's data;
   :class:`CommandRejected` undoes its work and replies failure (or ``retry``); any other
   exception is left to the inbox (retried, then dead-lettered);
5. records the outcome and publishes the reply, in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from opentelemetry.trace import SpanKind, TracerProvider
from pydantic import BaseModel
from sqlalchemy.orm import Session

from eventyard.outbox import (
    Event,
    InboundMessage,
    InboxConfig,
    InboxConsumer,
    Outbox,
    RejectMessage,
)
from eventyard.saga._core import message_id
from eventyard.saga._exceptions import CommandRejected, ConfigError
from eventyard.saga._locks import SemanticLocks
from eventyard.saga._model import (
    EVENT_TYPE_RELEASE,
    EVENT_TYPE_REPLY,
    CommandEnvelope,
    Phase,
    ReplyEnvelope,
    ReplyOutcome,
)
from eventyard.saga._schema import SagaTables
from eventyard.saga._tracing import INSTRUMENTATION
from eventyard.telemetry import tracer

__all__ = ["CommandHandler", "Participant"]

_log = structlog.get_logger("eventyard.saga.participant")

#: A command handler: does the work in ``session`` and returns the reply's data (or None).
CommandHandler = Callable[[Session, CommandEnvelope], Mapping[str, Any] | BaseModel | None]
H = TypeVar("H", bound=CommandHandler)


class Participant:
    """A saga participant called ``name``: its handlers, its outbox, its record of commands.

    ``outbox`` publishes replies into the participant's own database (its router must route
    the orchestrators' reply channels). Register one handler per command name, compensations
    included. Nothing connects until a command is handled.
    """

    def __init__(
        self,
        name: str,
        *,
        outbox: Outbox,
        tables: SagaTables | None = None,
        command_channel: str = "{participant}.commands",
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        if "{participant}" not in command_channel:
            raise ConfigError(f"command_channel {command_channel!r} must contain {{participant}}")
        self.name = name
        self.outbox = outbox
        self.tables = tables or SagaTables()
        self.locks = SemanticLocks(self.tables)
        self.channel = command_channel.replace("{participant}", name)
        self.tracer_provider = tracer_provider
        self._handlers: dict[str, CommandHandler] = {}
        t = self.tables.participant_q
        # Table names come from SagaTables, which admits plain identifiers only.
        self._previous = sa.text(
            f"SELECT phase, outcome, reason, reply FROM {t} "  # noqa: S608 - SagaTables names only
            "WHERE participant = :participant AND saga_id = :saga_id AND step = :step"
        )
        self._record = sa.text(
            f"INSERT INTO {t} (participant, saga_id, step, phase, command, outcome, reason, "  # noqa: S608 - SagaTables names only
            "reply) VALUES (:participant, :saga_id, :step, :phase, :command, :outcome, :reason, "
            "CAST(:reply AS jsonb))"
        )
        self._purge = sa.text(
            f"DELETE FROM {t} WHERE participant = :participant "  # noqa: S608 - SagaTables names only
            "AND handled_at < now() - :age"
        )

    @property
    def topic(self) -> str:
        """The Kafka topic this participant's commands arrive on."""
        return self.outbox.router.topic(self.channel)

    def handles(self, *names: str) -> Callable[[H], H]:
        """Decorator: register the function as the handler of the commands ``names``."""

        def register(handler: H) -> H:
            for name in names:
                self.register(name, handler)
            return handler

        return register

    def register(self, name: str, handler: CommandHandler) -> None:
        """Register ``handler`` for the command ``name``."""
        if name in self._handlers:
            raise ConfigError(f"participant {self.name} already handles {name}")
        self._handlers[name] = handler

    # ---------------------------------------------------------------- handling

    def handle(self, session: Session, message: InboundMessage) -> None:
        """The inbox handler: apply a command (or a lock release) in the inbox's transaction."""
        if message.event_type == EVENT_TYPE_RELEASE:
            value = message.json()
            released = self.release(session, value["saga_id"])
            _log.debug("semantic locks released", saga_id=value["saga_id"], released=released)
            return
        try:
            command = CommandEnvelope.from_json(message.json())
        except (ValueError, KeyError, TypeError) as error:
            raise RejectMessage(f"not a saga command: {type(error).__name__}: {error}") from error
        self.handle_command(session, command)

    def handle_command(self, session: Session, command: CommandEnvelope) -> ReplyEnvelope:
        """Apply ``command`` and publish the reply, in ``session``'s transaction; the reply."""
        with tracer(INSTRUMENTATION, self.tracer_provider).start_as_current_span(
            f"saga.participant {command.name}",
            kind=SpanKind.INTERNAL,
            attributes={
                "saga.id": str(command.saga_id),
                "saga.type": command.saga_type,
                "saga.step": command.step,
                "saga.phase": command.phase.value,
                "saga.attempt": command.attempt,
                "saga.participant": self.name,
            },
        ) as span:
            reply = self._decide(session, command)
            span.set_attribute("saga.outcome", reply.outcome.value)
            self._publish(session, command, reply)
        return reply

    def _decide(self, session: Session, command: CommandEnvelope) -> ReplyEnvelope:
        shortcut = self._shortcut(session, command)
        if shortcut is not None:
            return shortcut
        handler = self._handlers.get(command.name)
        if handler is None:
            known = ", ".join(sorted(self._handlers)) or "none"
            reason = f"participant {self.name} has no handler for {command.name} (it has: {known})"
            _log.error("no handler for a command", command=command.name, participant=self.name)
            return self._reply(command, ReplyOutcome.FAILURE, reason, {})
        try:
            made = self._run(session, command, handler)
        except CommandRejected as error:
            if command.phase == Phase.ACTION and not error.retry_later:
                return self._recorded(session, command, ReplyOutcome.FAILURE, error.reason, {})
            # Not recorded: a later attempt runs the handler again.
            outcome = (
                ReplyOutcome.FAILURE if command.phase == Phase.COMPENSATION else ReplyOutcome.RETRY
            )
            return self._reply(command, outcome, error.reason, {})
        data: Mapping[str, Any]
        if made is None:
            data = {}
        elif isinstance(made, BaseModel):
            data = made.model_dump(mode="json")
        else:
            data = dict(made)
        return self._recorded(session, command, ReplyOutcome.SUCCESS, None, data)

    def _shortcut(self, session: Session, command: CommandEnvelope) -> ReplyEnvelope | None:
        """The reply without running the handler: a repeat, a late action, an empty undo."""
        previous = {
            Phase(row.phase): row
            for row in session.execute(
                self._previous,
                {"participant": self.name, "saga_id": command.saga_id, "step": command.step},
            )
        }
        done = previous.get(command.phase)
        if done is not None:
            return self._reply(command, ReplyOutcome(done.outcome), done.reason, done.reply or {})
        if command.phase == Phase.ACTION and Phase.COMPENSATION in previous:
            reason = "the step was compensated before its action arrived; not applied"
            return self._recorded(session, command, ReplyOutcome.FAILURE, reason, {})
        if command.phase == Phase.COMPENSATION:
            action = previous.get(Phase.ACTION)
            if action is None or action.outcome != ReplyOutcome.SUCCESS.value:
                reason = "nothing to undo: the action never took effect here"
                return self._recorded(session, command, ReplyOutcome.SUCCESS, reason, {})
        return None

    def _run(
        self, session: Session, command: CommandEnvelope, handler: CommandHandler
    ) -> Mapping[str, Any] | BaseModel | None:
        """The lock and the handler in a savepoint: undone together if either refuses."""
        with session.begin_nested():
            if command.lock is not None and command.phase == Phase.ACTION:
                holder = self.locks.acquire(
                    session,
                    command.lock,
                    saga_id=command.saga_id,
                    saga_type=command.saga_type,
                    step=command.step,
                )
                if holder is not None:
                    raise CommandRejected(
                        f"{command.lock} is pending in saga {holder.saga_id} "
                        f"({holder.saga_type}, step {holder.step})",
                        retryable=command.lock_conflict != "reject",
                    )
            made = handler(session, command)
            if command.phase == Phase.COMPENSATION:
                self.locks.release_step(session, saga_id=command.saga_id, step=command.step)
        return made

    def _recorded(
        self,
        session: Session,
        command: CommandEnvelope,
        outcome: ReplyOutcome,
        reason: str | None,
        data: Mapping[str, Any],
    ) -> ReplyEnvelope:
        session.execute(
            self._record,
            {
                "participant": self.name,
                "saga_id": command.saga_id,
                "step": command.step,
                "phase": command.phase.value,
                "command": command.name,
                "outcome": outcome.value,
                "reason": reason,
                "reply": json.dumps(dict(data), separators=(",", ":")),
            },
        )
        return self._reply(command, outcome, reason, data)

    def _reply(
        self,
        command: CommandEnvelope,
        outcome: ReplyOutcome,
        reason: str | None,
        data: Mapping[str, Any],
    ) -> ReplyEnvelope:
        return ReplyEnvelope(
            saga_id=command.saga_id,
            saga_type=command.saga_type,
            step=command.step,
            phase=command.phase,
            attempt=command.attempt,
            outcome=outcome,
            reason=reason,
            data=data,
            participant=self.name,
        )

    def _publish(self, session: Session, command: CommandEnvelope, reply: ReplyEnvelope) -> None:
        self.outbox.publish(
            session,
            Event(
                aggregate_type=command.reply_to,
                aggregate_id=str(command.saga_id),
                type=EVENT_TYPE_REPLY,
                payload=reply.to_json(),
                id=message_id(
                    self.name, command.saga_id, command.step, command.phase.value, command.attempt
                ),
                headers={
                    "eventyard.saga.id": str(command.saga_id),
                    "eventyard.saga.step": command.step,
                    "eventyard.saga.phase": command.phase.value,
                    "eventyard.saga.attempt": str(command.attempt),
                    "eventyard.saga.outcome": reply.outcome.value,
                },
            ),
        )

    # ---------------------------------------------------------------- housekeeping

    def release(self, session: Session, saga_id: object) -> int:
        """Release every semantic lock a saga holds here; how many were released."""
        return self.locks.release_saga(session, uuid.UUID(str(saga_id)))

    def purge(self, session: Session, older_than: timedelta) -> int:
        """Forget commands handled longer ago than ``older_than``; how many were forgotten.

        A command repeated after that would run again: keep it longer than any saga lasts.
        """
        result = session.execute(self._purge, {"participant": self.name, "age": older_than})
        return int(getattr(result, "rowcount", 0) or 0)

    def consumer(
        self,
        kafka: Mapping[str, Any],
        *,
        sessions: Callable[[], Session],
        inbox: InboxConfig | None = None,
    ) -> InboxConsumer:
        """An inbox consumer of this participant's command topic, handling with :meth:`handle`.

        ``kafka`` is the confluent-kafka config (``group.id`` defaults to the participant's
        name); ``sessions`` makes sessions on the participant's database.
        """
        settings = {"group.id": f"eventyard-saga-{self.name}", **kafka}
        config = inbox or InboxConfig(name=f"saga:{self.name}", topics=(self.topic,))
        return InboxConsumer(
            kafka=settings,
            sessions=sessions,
            handler=self.handle,
            config=config,
            tracer_provider=self.tracer_provider,
        )
