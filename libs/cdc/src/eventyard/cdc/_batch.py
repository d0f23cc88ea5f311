"""A batch of consumed records, decoded chunk by chunk ahead of the runner that applies them.

Decoding is pure Python, and applying a chunk is mostly waiting for PostgreSQL (psycopg releases
the GIL while it waits): with a helper thread decoding chunk N+1 while the runner applies
chunk N in the batch's transaction, the two overlap. Everything else stays where it was: the
Kafka consumer, the transaction and the handlers run on the runner's thread, and the chunks are
applied in order, one after the other, inside the one transaction of the batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field

from confluent_kafka import Message

from eventyard.cdc._decoder import Decoder
from eventyard.cdc._events import ChangeEvent, Event, TableEvent, TruncateEvent
from eventyard.cdc._exceptions import DecodeError

__all__ = ["Batch", "Chunk", "Item", "Run", "decode_chunk"]

_TABLE_EVENTS = (ChangeEvent, TruncateEvent)
_YIELD_EVERY = 32  # records decoded between giving the GIL to the thread applying


@dataclass(slots=True)
class Item:
    """A record that could not be applied, and why (``stage``: ``decode`` or ``handle``)."""

    message: Message
    event: Event | None
    error: BaseException
    stage: str = "decode"


@dataclass(slots=True)
class Run:
    """Consecutive events of one source table, in order, and their records."""

    table: str
    messages: list[Message] = field(default_factory=list)
    events: list[TableEvent] = field(default_factory=list)
    lag_stamps: list[int] = field(default_factory=list)
    """``source.ts_ms`` of the run's streamed (not snapshot) events, for the lag metrics."""


@dataclass(slots=True)
class Chunk:
    """Consecutive records of a batch, decoded: runs of table events (other events dropped),
    and the records that do not decode."""

    runs: list[Run]
    poison: list[Item]


def decode_chunk(decoder: Decoder, messages: Sequence[Message], *, yielding: bool = False) -> Chunk:
    """Decode ``messages`` into runs of table events; a record that does not decode is poison
    (stage ``decode``)."""
    runs: list[Run] = []
    poison: list[Item] = []
    decode = decoder.decode
    run: Run | None = None
    schema = table = None
    for count, message in enumerate(messages):
        if yielding and not count % _YIELD_EVERY:
            time.sleep(0)
        try:
            event = decode(message)
        except DecodeError as error:
            poison.append(Item(message, None, error))
            continue
        if not isinstance(event, _TABLE_EVENTS):
            continue  # tombstones, heartbeats, transaction metadata...
        source = event.source
        if run is None or source.table != table or source.schema != schema:
            schema, table = source.schema, source.table
            run = Run(f"{schema}.{table}")
            runs.append(run)
        run.messages.append(message)
        run.events.append(event)
        snapshot = source.snapshot
        if (snapshot is None or snapshot == "false") and source.ts_ms:  # not Source.is_snapshot
            run.lag_stamps.append(source.ts_ms)
    return Chunk(runs, poison)


class Batch:
    """The records of one batch, decoded as consecutive chunks (ahead, by ``executor``, when
    there are several). :meth:`chunks` gives them in order, waiting for each; a second pass
    (a retry of the batch) reuses them."""

    def __init__(
        self,
        decoder: Decoder,
        messages: Sequence[Message],
        *,
        chunk_size: int,
        executor: Executor | None,
    ) -> None:
        self.size = len(messages)
        self._parts: list[Chunk | Future[Chunk]]
        if executor is None or len(messages) <= chunk_size:
            self._parts = [decode_chunk(decoder, messages)]
        else:
            self._parts = [
                executor.submit(
                    decode_chunk, decoder, messages[start : start + chunk_size], yielding=True
                )
                for start in range(0, len(messages), chunk_size)
            ]

    def chunks(self) -> Iterator[Chunk]:
        """The decoded chunks in order (a decoding error other than a :class:`DecodeError`,
        such as :class:`SchemaUnavailable`, is raised here)."""
        for index, part in enumerate(self._parts):
            if isinstance(part, Future):
                part = part.result()  # noqa: PLW2901 - the chunk the future made
                self._parts[index] = part
            yield part

    def close(self) -> None:
        """Drop the decoding nobody will apply (a fenced or failed batch), and wait for the
        chunk being decoded now: a decoder is used by one thread at a time."""
        pending = [part for part in self._parts if isinstance(part, Future)]
        for future in pending:
            future.cancel()
        wait(pending)
