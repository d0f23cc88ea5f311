"""One dead-letter convention for every Eventyard consumer: the headers a dead-lettered message
carries besides its own, how to write them, and how to read them back.

A dead-lettered message keeps its key, value and headers, and gets the ``eventyard.dlt.*``
headers of :class:`DeadLetterHeader` appended (values are UTF-8 text). :func:`read_dead_letter`
reads them back, and also reads the names ``eventyard.cdc``'s projection runner wrote before
this convention (``eventyard.error``, ``eventyard.source.topic``, ...), so that records already
in dead-letter topics stay readable.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

__all__ = ["DeadLetter", "DeadLetterHeader", "dead_letter_headers", "read_dead_letter"]

#: A Kafka header's value as clients hand it over: bytes (confluent-kafka), text, or null.
HeaderValue = str | bytes | None

_EXCEPTION_CHARS = 4000  # the head of the exception's text
_STACKTRACE_CHARS = 8000  # the tail of the stack trace: where it was raised


class DeadLetterHeader(StrEnum):
    """The headers a dead-lettered message carries besides its own (values are UTF-8 text).

    ``ORIGINAL_*`` say where the message was read from; ``EXCEPTION*`` what failed; ``STAGE``
    in which step (``decode``, ``handle``); ``ATTEMPTS`` how many times it was tried;
    ``CONSUMER`` which consumer gave up (an inbox's name, a projection's name); ``FAILED_AT``
    when (ISO 8601, UTC). ``STAGE`` and ``ATTEMPTS`` are left out when the consumer does not
    know them.
    """

    ORIGINAL_TOPIC = "eventyard.dlt.original.topic"
    ORIGINAL_PARTITION = "eventyard.dlt.original.partition"
    ORIGINAL_OFFSET = "eventyard.dlt.original.offset"
    EXCEPTION = "eventyard.dlt.exception"
    """``<class name>: <message>``, at most 4,000 characters."""
    EXCEPTION_TYPE = "eventyard.dlt.exception.type"
    """The exception's fully qualified class name, e.g. ``builtins.ValueError``."""
    EXCEPTION_STACKTRACE = "eventyard.dlt.exception.stacktrace"
    """The formatted traceback, its last 8,000 characters."""
    STAGE = "eventyard.dlt.stage"
    ATTEMPTS = "eventyard.dlt.attempts"
    CONSUMER = "eventyard.dlt.consumer"
    FAILED_AT = "eventyard.dlt.failed.at"


# The names eventyard.cdc's projection runner wrote before this convention, and what they hold
# now. ``eventyard.error`` was the message alone, ``eventyard.error.type`` the bare class name.
_LEGACY = {
    "eventyard.source.topic": DeadLetterHeader.ORIGINAL_TOPIC,
    "eventyard.source.partition": DeadLetterHeader.ORIGINAL_PARTITION,
    "eventyard.source.offset": DeadLetterHeader.ORIGINAL_OFFSET,
    "eventyard.error": DeadLetterHeader.EXCEPTION,
    "eventyard.error.type": DeadLetterHeader.EXCEPTION_TYPE,
    "eventyard.error.stage": DeadLetterHeader.STAGE,
    "eventyard.projection": DeadLetterHeader.CONSUMER,
}
_NAMES = frozenset(DeadLetterHeader) | frozenset(_LEGACY)


def dead_letter_headers(
    *,
    topic: str,
    partition: int,
    offset: int,
    error: BaseException,
    consumer: str,
    attempts: int | None = None,
    stage: str | None = None,
    failed_at: datetime | None = None,
) -> list[tuple[str, bytes]]:
    """The :class:`DeadLetterHeader` headers for a message read from ``topic[partition]@offset``
    that ``consumer`` gave up on because of ``error``; append them to the message's own.

    ``attempts`` and ``stage`` are left out when None; ``failed_at`` is now unless given.
    """
    at = failed_at or datetime.now(UTC)
    kind = type(error)
    values: list[tuple[DeadLetterHeader, str | None]] = [
        (DeadLetterHeader.ORIGINAL_TOPIC, topic),
        (DeadLetterHeader.ORIGINAL_PARTITION, str(partition)),
        (DeadLetterHeader.ORIGINAL_OFFSET, str(offset)),
        (DeadLetterHeader.EXCEPTION, f"{kind.__name__}: {error}"[:_EXCEPTION_CHARS]),
        (DeadLetterHeader.EXCEPTION_TYPE, f"{kind.__module__}.{kind.__qualname__}"),
        (
            DeadLetterHeader.EXCEPTION_STACKTRACE,
            "".join(traceback.format_exception(error))[-_STACKTRACE_CHARS:],
        ),
        (DeadLetterHeader.STAGE, stage),
        (DeadLetterHeader.ATTEMPTS, None if attempts is None else str(attempts)),
        (DeadLetterHeader.CONSUMER, consumer),
        (DeadLetterHeader.FAILED_AT, at.isoformat()),
    ]
    return [(name.value, value.encode()) for name, value in values if value is not None]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """What the headers of a dead-lettered message say (None: the header is absent).

    ``headers`` are the message's own headers, without the dead-letter ones: what to send
    with it when it is sent back to its topic. From the projection runner's earlier names,
    ``exception_type`` is the bare class name (``ValueError``) and ``stacktrace``,
    ``attempts`` and ``failed_at`` are None: it did not write them.
    """

    original_topic: str | None = None
    original_partition: int | None = None
    original_offset: int | None = None
    exception: str | None = None
    exception_type: str | None = None
    stacktrace: str | None = None
    stage: str | None = None
    attempts: int | None = None
    consumer: str | None = None
    failed_at: datetime | None = None
    headers: tuple[tuple[str, bytes | None], ...] = ()


def read_dead_letter(
    headers: Iterable[tuple[str, HeaderValue]] | Mapping[str, HeaderValue] | None,
) -> DeadLetter:
    """Read the dead-letter headers of a message (``message.headers()``), in this convention or
    in the projection runner's earlier one. Where a name repeats (a message dead-lettered again
    after it was sent back), the last value counts; this convention's names win over the
    earlier ones."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers or ())
    current: dict[str, str] = {}
    legacy: dict[str, str] = {}
    own: list[tuple[str, bytes | None]] = []
    for name, value in pairs:
        raw = value.encode() if isinstance(value, str) else value
        if name not in _NAMES:
            own.append((name, raw))
        elif raw is not None:
            text = raw.decode(errors="replace")
            if name in _LEGACY:
                legacy[_LEGACY[name]] = text
            else:
                current[name] = text
    if DeadLetterHeader.EXCEPTION in legacy and DeadLetterHeader.EXCEPTION_TYPE in legacy:
        # The earlier convention wrote the message alone: prefix the class name as now.
        type_name = legacy[DeadLetterHeader.EXCEPTION_TYPE]
        legacy[DeadLetterHeader.EXCEPTION] = f"{type_name}: {legacy[DeadLetterHeader.EXCEPTION]}"
    found = {**legacy, **current}
    return DeadLetter(
        original_topic=found.get(DeadLetterHeader.ORIGINAL_TOPIC),
        original_partition=_integer(found.get(DeadLetterHeader.ORIGINAL_PARTITION)),
        original_offset=_integer(found.get(DeadLetterHeader.ORIGINAL_OFFSET)),
        exception=found.get(DeadLetterHeader.EXCEPTION),
        exception_type=found.get(DeadLetterHeader.EXCEPTION_TYPE),
        stacktrace=found.get(DeadLetterHeader.EXCEPTION_STACKTRACE),
        stage=found.get(DeadLetterHeader.STAGE),
        attempts=_integer(found.get(DeadLetterHeader.ATTEMPTS)),
        consumer=found.get(DeadLetterHeader.CONSUMER),
        failed_at=_timestamp(found.get(DeadLetterHeader.FAILED_AT)),
        headers=tuple(own),
    )


def _integer(text: str | None) -> int | None:
    if text is not None:
        with contextlib.suppress(ValueError):
            return int(text)
    return None


def _timestamp(text: str | None) -> datetime | None:
    if text is not None:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(text)
    return None
