"""The projection runner: Kafka -> handlers -> PostgreSQL, offsets stored in the same transaction.

One batch = one database transaction that (1) locks the offset rows of the batch's partitions and
checks they still hold the positions this runner started the batch from (a runner that lost its
partitions, or a rebuild that swapped tables in, makes that check fail: the batch is dropped and
the partitions are sought to what is stored), (2) runs the handlers, (3) stores the next offsets.
Kafka's committed offsets are written afterwards for monitoring only; on assignment the runner
seeks to the offsets stored in PostgreSQL.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any

import psycopg
import structlog
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)
from opentelemetry.trace import TracerProvider
from psycopg import sql

from eventyard.cdc._batch import Batch, Item, Run, decode_chunk
from eventyard.cdc._dead_letters import DeadLetters, where
from eventyard.cdc._decoder import Decoder
from eventyard.cdc._exceptions import DeadLetterFailed, ProjectionError, RebuildFailed
from eventyard.cdc._offsets import BEGINNING, OffsetStore
from eventyard.cdc._projection import ApplyContext, Projection
from eventyard.cdc._rebuild import apply_rebuild_batch, below_ends, log_ends, swap_in
from eventyard.cdc._runner_config import PartitionLag, RebuildReport, RunnerConfig, RunnerMetrics
from eventyard.cdc._tracing import ApplyTracing, BatchTrace
from eventyard.kafka import StaticMemberGuard, TopicPartitionKey

__all__ = ["ProjectionRunner"]

_log = structlog.get_logger("eventyard.cdc.runner")

_GC_FIRST_THRESHOLD = 50_000  # allocations between the collector's young passes (tune_gc)
_CHUNKS = 5  # a batch is decoded in this many chunks, each ahead of the one being applied
_MIN_CHUNK = 500  # ...of at least this many records (smaller batches decode in one go)
_OUTAGES = (psycopg.OperationalError, DeadLetterFailed)  # a batch is tried again (config.retry)


class _Fenced(Exception):
    def __init__(self, stored: Mapping[TopicPartitionKey, int]) -> None:
        self.stored = stored


class _HandlerFailed(Exception):
    pass


class ProjectionRunner:
    """Apply Debezium topics to a :class:`Projection` with exactly-once effect.

    Use as a context manager, or call :meth:`close`. Nothing connects before :meth:`start`
    (called by :meth:`run` and :meth:`rebuild` when needed). ``tracer_provider``: where the
    spans of ``config.trace_context_column`` go (the global provider by default).
    """

    def __init__(
        self,
        projection: Projection,
        config: RunnerConfig,
        *,
        decoder: Decoder | None = None,
        clock: Callable[[], float] = time.time,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.projection = projection
        self.config = config
        self._tracing = (
            None
            if config.trace_context_column is None
            else ApplyTracing(
                config.trace_context_column,
                projection=projection.name,
                tracer_provider=tracer_provider,
            )
        )
        self.decoder = decoder or Decoder()
        self._clock = clock
        self._offsets = OffsetStore(config.schema, config.offsets_table)
        self._conn: psycopg.Connection[Any] | None = None
        self._consumer: Consumer | None = None
        self._dead_letters = (
            None
            if config.dead_letter_topic is None
            else DeadLetters(
                topic=config.dead_letter_topic,
                projection=projection.name,
                bootstrap_servers=config.bootstrap_servers,
                producer_config=config.producer_config,
            )
        )
        self._positions: dict[TopicPartitionKey, int] = {}
        self._stop = threading.Event()
        self._reseek = False
        self._applied = self._skipped = self._dead = self._batches = 0
        self._rebalances = self._fenced = self._retries = 0
        self._lags: deque[float] = deque(maxlen=config.lag_samples)
        self._names = {t: t for t in projection.tables}
        # Batches bigger than this are decoded a chunk ahead of the one being applied.
        self._chunk_size = max(_MIN_CHUNK, config.batch_size // _CHUNKS)
        self._decoding: ThreadPoolExecutor | None = None
        # The next batch, consumed before the one in hand was applied and decoding meanwhile.
        self._ahead: tuple[list[Message], Batch] | None = None
        # A static member checks after each assignment that its group holds every partition.
        self._guard = StaticMemberGuard.for_consumer(
            config.consumer_settings(), topics=config.topics, pattern=config.topic_pattern
        )

    # -- life cycle ----------------------------------------------------------------------------

    def __enter__(self) -> ProjectionRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Connect, create the offsets table and the projection's tables, subscribe."""
        if self._consumer is not None:
            return
        conn = self._connection()
        with conn.transaction():
            self._ensure_schema(conn)
            self._create_tables(conn, self._names)
        if self.config.tune_gc:
            gc.freeze()
            first, *others = gc.get_threshold()
            gc.set_threshold(max(first, _GC_FIRST_THRESHOLD), *others)
        consumer = Consumer(self.config.consumer_settings())
        topics = self._subscribe(consumer)
        self._consumer = consumer
        _log.info("runner started", projection=self.projection.name, topics=topics)

    def _subscribe(self, consumer: Consumer) -> list[str]:
        topics = list(self.config.topics) or [f"^{self.config.topic_pattern}"]
        consumer.subscribe(
            topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        return topics

    def stop(self) -> None:
        """Ask :meth:`run` to return after the batch in hand (safe from signal handlers)."""
        self._stop.set()

    def close(self) -> None:
        """Leave the group and close connections."""
        if self._consumer is not None:
            try:
                self._consumer.close()
            except (KafkaException, RuntimeError) as error:
                _log.warning("consumer close failed", error=str(error))
            self._consumer = None
        if self._dead_letters is not None:
            self._dead_letters.close()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._drop_ahead()
        if self._decoding is not None:
            self._decoding.shutdown()
            self._decoding = None

    # -- running ------------------------------------------------------------------------------

    def run(
        self,
        *,
        until_caught_up: bool = False,
        timeout_s: float | None = None,
        stop: threading.Event | None = None,
    ) -> bool:
        """Apply batches until :meth:`stop` (or ``stop`` is set), the timeout, or — with
        ``until_caught_up`` — every assigned partition is applied to its end.

        Returns True when it stopped caught up (``until_caught_up``) or was stopped.
        """
        self.start()
        self._stop.clear()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._stop.is_set() and not (stop is not None and stop.is_set()):
            if deadline is not None and time.monotonic() > deadline:
                return False
            count = self.poll_once()
            if count == 0 and until_caught_up and self.caught_up():
                return True
        return True

    def poll_once(self) -> int:
        """Consume one batch and apply it; the number of records read."""
        self.start()
        assert self._consumer is not None
        if self._reseek:
            self._drop_ahead()
            self._reload_positions()
        if self._guard is not None:
            self._guard.check(self._consumer, self._rejoin)
        ahead: Batch | None = None
        if self._ahead is not None:
            messages, ahead = self._ahead
            self._ahead = None
        else:
            messages = self._consumer.consume(self.config.batch_size, self.config.poll_timeout_s)
        if not messages:
            return 0
        self._process(messages, ahead)
        return len(messages)

    def caught_up(self) -> bool:
        """True when partitions are assigned and each is applied up to its current end."""
        if self._consumer is None or not self._positions:
            return False
        for (topic, partition), position in list(self._positions.items()):
            where = TopicPartition(topic, partition)
            # The end as of the last fetch answers "not yet" without asking the broker, which
            # answers only after the consumer's pending fetch (up to fetch.wait.max.ms).
            _, cached_high = self._consumer.get_watermark_offsets(where, cached=True)
            if position != BEGINNING and cached_high is not None and position < cached_high:
                return False
            low, high = self._consumer.get_watermark_offsets(where, timeout=10, cached=False)
            if (low if position == BEGINNING else position) < high:
                return False
        return True

    def metrics(self) -> RunnerMetrics:
        """Counters and lag now (watermarks as last seen by the consumer)."""
        partitions = []
        for (topic, partition), position in sorted(self._positions.items()):
            high: int | None = None
            if self._consumer is not None:
                try:
                    _, high = self._consumer.get_watermark_offsets(
                        TopicPartition(topic, partition), cached=True
                    )
                    if high is not None and high < 0:
                        high = None
                except KafkaException:
                    high = None
            at = position if position != BEGINNING else 0
            partitions.append(
                PartitionLag(
                    topic=topic,
                    partition=partition,
                    position=position,
                    high_watermark=high,
                    lag=None if high is None else max(0, high - at),
                )
            )
        p50 = p99 = None
        if self._lags:
            ordered = sorted(self._lags)
            p50 = ordered[len(ordered) // 2]
            p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return RunnerMetrics(
            applied=self._applied,
            skipped=self._skipped,
            dead_lettered=self._dead,
            batches=self._batches,
            rebalances=self._rebalances,
            fenced=self._fenced,
            retries=self._retries,
            partitions=tuple(partitions),
            lag_ms_p50=p50,
            lag_ms_p99=p99,
        )

    def stored_positions(self) -> dict[TopicPartitionKey, int]:
        """Every position stored for this projection."""
        conn = self._connection()
        with conn.transaction():
            return self._offsets.all(conn, self.projection.name)

    # -- rebalancing --------------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._drop_ahead()
        keys = [(p.topic, p.partition) for p in partitions]
        stored = self._with_retry(lambda conn: self._offsets.load(conn, self.projection.name, keys))
        for p in partitions:
            position = stored[(p.topic, p.partition)]
            p.offset = OFFSET_BEGINNING if position == BEGINNING else position
        if self._cooperative():
            consumer.incremental_assign(partitions)
        else:
            consumer.assign(partitions)
        self._positions.update(stored)
        self._rebalances += 1
        if self._guard is not None:
            self._guard.assigned()
        _log.info("partitions assigned", projection=self.projection.name, positions=stored)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._drop_ahead()
        # A batch consumed earlier and not applied yet is fenced: its positions are gone.
        for p in partitions:
            self._positions.pop((p.topic, p.partition), None)
        if self._cooperative():
            consumer.incremental_unassign(partitions)
        else:
            consumer.unassign()
        _log.info("partitions revoked", projection=self.projection.name, count=len(partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._drop_ahead()
        for p in partitions:
            self._positions.pop((p.topic, p.partition), None)
        _log.warning("partitions lost", projection=self.projection.name, count=len(partitions))

    def _rejoin(self) -> None:
        """Rejoin the group with a full rebalance (see :class:`StaticMemberGuard`)."""
        assert self._consumer is not None
        self._drop_ahead()
        self._consumer.unsubscribe()
        self._subscribe(self._consumer)

    def _cooperative(self) -> bool:
        strategy = str(self.config.consumer_config.get("partition.assignment.strategy", ""))
        return "cooperative" in strategy

    def _reload_positions(self) -> None:
        assert self._consumer is not None
        stored = self._with_retry(
            lambda conn: self._offsets.load(conn, self.projection.name, list(self._positions))
        )
        self._positions.update(stored)
        self._seek(stored)
        self._reseek = False

    def _seek(self, positions: Mapping[TopicPartitionKey, int]) -> None:
        assert self._consumer is not None
        self._drop_ahead()  # records after the old positions: a gap if applied after a seek back
        for (topic, partition), position in positions.items():
            if (topic, partition) not in self._positions:
                continue
            offset = OFFSET_BEGINNING if position == BEGINNING else position
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as error:
                # Not fetching yet: the next assignment starts from the stored offset anyway.
                _log.warning("seek failed", topic=topic, partition=partition, error=str(error))

    # -- batches ------------------------------------------------------------------------------

    def _process(self, messages: list[Message], ahead: Batch | None = None) -> None:
        """Apply the records of ``messages`` this runner owns and has not applied yet.

        ``ahead`` is their decoding begun earlier (see :meth:`_read_ahead`): used when every
        record it decoded is still wanted, else dropped and the wanted ones decoded again.
        """
        accepted: list[Message] = []
        ends: dict[TopicPartitionKey, int] = {}
        positions = self._positions
        for message in messages:
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                if error.fatal():
                    raise ProjectionError(f"fatal Kafka error: {error}")
                _log.warning("consume error", error=str(error))
                continue
            where = (message.topic() or "", message.partition() or 0)
            position = positions.get(where)
            offset = message.offset() or 0
            if position is None or (position != BEGINNING and offset < position):
                continue  # revoked, or read before a seek took effect
            accepted.append(message)
            ends[where] = offset + 1
        if ahead is not None and ahead.size != len(accepted):  # a rebalance or seek between
            ahead.close()
            ahead = None
        if not accepted:
            return
        executor = self._decode_ahead()
        batch = ahead or Batch(
            self.decoder, accepted, chunk_size=self._chunk_size, executor=executor
        )
        try:
            if executor is not None:
                self._read_ahead(executor)
            self._apply(batch, ends)
        finally:
            batch.close()

    def _read_ahead(self, executor: ThreadPoolExecutor) -> None:
        """Consume the records already fetched and start decoding them, so the decoding thread
        works while this batch waits for PostgreSQL.

        It runs before this batch's transaction opens, so rebalance callbacks run outside any
        transaction, as they do in :meth:`poll_once`. A partition revoked here leaves this batch
        fenced (its position is gone) and the records read ahead unwanted.
        """
        assert self._consumer is not None
        messages = self._consumer.consume(self.config.batch_size, 0)
        if messages:
            decodable = [m for m in messages if m.error() is None]
            batch = Batch(self.decoder, decodable, chunk_size=self._chunk_size, executor=executor)
            self._ahead = (messages, batch)

    def _drop_ahead(self) -> None:
        """Forget the records read ahead (they are read again from the stored positions)."""
        if self._ahead is not None:
            self._ahead[1].close()
            self._ahead = None

    def _decode_ahead(self) -> ThreadPoolExecutor | None:
        """The thread decoding the chunks of a batch ahead (None: batches fit in one chunk)."""
        if self.config.batch_size <= self._chunk_size:
            return None
        if self._decoding is None:
            self._decoding = ThreadPoolExecutor(1, thread_name_prefix="eventyard-cdc-decode")
        return self._decoding

    def _apply(self, batch: Batch, ends: dict[TopicPartitionKey, int]) -> None:
        """Apply ``batch`` in one transaction, tried again (``config.retry``) through outages."""
        isolate = False
        try:
            for attempt in self.config.retry.context(on=_OUTAGES):
                with attempt:
                    if attempt.num > 1:
                        self._reconnect_if_broken()
                    while True:
                        try:
                            self._transaction(batch, ends, isolate=isolate)
                            return
                        except _HandlerFailed:
                            self._reset_handlers()
                            isolate = True
                        except _Fenced as fenced:
                            self._fenced_batch(fenced, ends)
                            return
                        except _OUTAGES as error:
                            self._retries += 1
                            self._reset_handlers()
                            _log.warning("batch failed", error=str(error), attempt=attempt.num)
                            raise
                        except BaseException:  # rolled back: handlers' session caches may be gone
                            self._reset_handlers()
                            raise
        except _OUTAGES as error:
            raise ProjectionError(f"batch failed for too long: {error}") from error

    def _fenced_batch(self, fenced: _Fenced, ends: dict[TopicPartitionKey, int]) -> None:
        """The stored offsets moved (a rebalance or a rebuild): drop the batch, seek to them."""
        self._fenced += 1
        self._reset_handlers()
        self._positions.update({k: v for k, v in fenced.stored.items() if k in self._positions})
        _log.warning("batch fenced: stored offsets moved", stored=dict(fenced.stored))
        self._seek({k: self._positions[k] for k in ends if k in self._positions})

    def _transaction(
        self, batch: Batch, ends: dict[TopicPartitionKey, int], *, isolate: bool
    ) -> None:
        conn = self._connection()
        poison: list[Item] = []
        failed: list[Item] = []
        applied = 0
        stamps: list[int] = []
        tracing = nullcontext(None) if self._tracing is None else self._tracing.batch()
        with tracing as traced, conn.transaction():
            stored = self._offsets.lock(conn, self.projection.name, ends)
            if any(stored.get(k) != self._positions.get(k) for k in ends):
                raise _Fenced(stored)
            ctx = ApplyContext(
                conn=conn,
                projection=self.projection.name,
                schema=self.config.schema,
                _tables=self._names,
            )
            for chunk in batch.chunks():
                poison += chunk.poison
                for run in chunk.runs:
                    handlers = self.projection.handlers(run.table)
                    if not handlers:
                        continue
                    if isolate:
                        applied += self._isolate(ctx, handlers, run, stamps, failed, traced=traced)
                        continue
                    try:
                        with nullcontext() if traced is None else traced.run(run):
                            for handler in handlers:
                                handler(ctx, run.events)
                    except psycopg.OperationalError:
                        raise
                    except Exception as error:
                        _log.info("batch handler failed; isolating events", error=str(error))
                        raise _HandlerFailed from error
                    applied += len(run.events)
                    stamps += run.lag_stamps
            poison += failed
            if poison:
                self._dead_letter(poison)
            self._offsets.save(conn, self.projection.name, ends)
        self._committed(batch.size, ends, applied, stamps, len(poison))

    def _isolate(
        self,
        ctx: ApplyContext,
        handlers: Sequence[Any],
        run: Run,
        stamps: list[int],
        poison: list[Item],
        *,
        traced: BatchTrace | None,
    ) -> int:
        """Apply ``run`` one event at a time, each in a savepoint; failures become poison.
        The number of events applied."""
        applied = 0
        for message, event in zip(run.messages, run.events, strict=True):
            try:
                with (
                    nullcontext() if traced is None else traced.event(event),
                    ctx.conn.transaction(),
                ):
                    for handler in handlers:
                        handler(ctx, [event])
            except psycopg.OperationalError:
                raise
            except Exception as error:
                self._reset_handlers()
                poison.append(Item(message, event, error, "handle"))
            else:
                applied += 1
                if not event.source.is_snapshot and event.source.ts_ms:
                    stamps.append(event.source.ts_ms)
        return applied

    def _committed(
        self,
        records: int,
        ends: dict[TopicPartitionKey, int],
        applied: int,
        stamps: list[int],
        poison: int,
    ) -> None:
        now_ms = self._clock() * 1000
        self._lags.extend([now_ms - stamp for stamp in stamps])
        self._positions.update(ends)
        self._applied += applied
        self._dead += poison
        self._skipped += records - applied - poison
        self._batches += 1
        if self._consumer is not None:
            offsets = [TopicPartition(t, p, n) for (t, p), n in ends.items()]
            try:
                self._consumer.commit(offsets=offsets, asynchronous=True)  # monitoring only
            except KafkaException as error:
                _log.debug("offset commit for monitoring failed", error=str(error))

    def _dead_letter(self, poison: list[Item]) -> None:
        if self._dead_letters is None:
            first = poison[0]
            raise ProjectionError(
                f"poison record at {where(first.message)} and no dead_letter_topic: {first.error!r}"
            )
        self._dead_letters.send(poison)

    # -- database -----------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.config.dsn, autocommit=True)
        return self._conn

    def _reconnect_if_broken(self) -> None:
        if self._conn is not None and (self._conn.broken or self._conn.closed):
            self._conn.close()
            self._conn = None
        try:
            self._connection()
        except psycopg.OperationalError as error:
            _log.warning("database unreachable", error=str(error))

    def _with_retry(self, work: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        """``work`` in a transaction, tried again (``config.retry``) while PostgreSQL is away."""
        try:
            for attempt in self.config.retry.context(on=psycopg.OperationalError):
                with attempt:
                    if attempt.num > 1:
                        self._reconnect_if_broken()
                    conn = self._connection()
                    with conn.transaction():
                        return work(conn)
        except psycopg.OperationalError as error:
            raise ProjectionError(f"database unreachable: {error}") from error
        raise AssertionError("unreachable: stamina re-raises the last failure")

    def _reset_handlers(self) -> None:
        for table in self.projection.source_tables:
            for handler in self.projection.handlers(table):
                reset = getattr(handler, "reset", None)
                if callable(reset):
                    reset()

    def _ensure_schema(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(
            sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.config.schema))
        )
        self._offsets.ensure(conn)

    def _create_tables(self, conn: psycopg.Connection[Any], names: Mapping[str, str]) -> None:
        statements = dict(
            zip(names, self.projection.iter_ddl(self.config.schema, names), strict=True)
        )
        for table, physical in names.items():
            found = conn.execute(
                "SELECT to_regclass(%s)",
                (sql.Identifier(self.config.schema, physical).as_string(conn),),
            ).fetchone()
            if found is None or found[0] is None:
                conn.execute(statements[table])

    # -- rebuild ------------------------------------------------------------------------------

    def rebuild(self, *, timeout_s: float | None = None) -> RebuildReport:
        """Rebuild the projection from the earliest offsets into fresh tables, then swap them in.

        Reads every partition of the projection's topics from the start up to their ends as of
        now into ``<table>__rebuild`` copies, then in one transaction: locks the live offset
        rows, drops the live tables, renames the copies into place and stores the rebuild's
        positions. Live runners (here or in other processes) find the stored offsets moved at
        their next batch and continue from there, into the new tables.
        """
        self._drop_ahead()  # the decoder is used by one thread at a time
        started = time.monotonic()
        conn = self._connection()
        names = {t: f"{t}__rebuild" for t in self.projection.tables}
        with conn.transaction():
            self._ensure_schema(conn)
            for physical in names.values():
                conn.execute(
                    sql.SQL("DROP TABLE IF EXISTS {}").format(
                        sql.Identifier(self.config.schema, physical)
                    )
                )
            self._create_tables(conn, names)
        self._reset_handlers()
        reader = Consumer(self.config.consumer_settings(f"{self.config.group_id}.rebuild"))
        try:
            ends = log_ends(reader, self.config)
            positions = dict.fromkeys(ends, BEGINNING)
            reader.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in ends])
            events = poison = 0
            while any(positions[k] < ends[k] for k in ends if ends[k] > 0):
                if timeout_s is not None and time.monotonic() - started > timeout_s:
                    raise RebuildFailed(f"rebuild not done after {timeout_s:.0f} s: {positions}")
                messages = reader.consume(self.config.batch_size, self.config.poll_timeout_s)
                wanted = below_ends(messages, ends, positions)
                chunk = decode_chunk(self.decoder, wanted)
                poison += len(chunk.poison)  # dead-lettered already by the live runner
                events += len(wanted) - len(chunk.poison)
                poison += apply_rebuild_batch(
                    conn,
                    self.projection,
                    schema=self.config.schema,
                    names=names,
                    runs=chunk.runs,
                    reset_handlers=self._reset_handlers,
                )
            swap_in(
                conn,
                self._offsets,
                projection=self.projection.name,
                schema=self.config.schema,
                names=names,
                positions=positions,
            )
        except psycopg.Error as error:
            raise RebuildFailed(f"rebuild failed: {error}") from error
        finally:
            reader.close()
            self._reset_handlers()
        self._reseek = True
        report = RebuildReport(
            events=events,
            skipped_poison=poison,
            positions=positions,
            seconds=time.monotonic() - started,
        )
        _log.info("projection rebuilt", projection=self.projection.name, events=events)
        return report
