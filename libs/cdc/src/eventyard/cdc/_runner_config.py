"""What a projection runner is told (:class:`RunnerConfig`) and what it reports (lags,
metrics, rebuilds): plain values, no I/O."""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field
from typing import Any

from eventyard.cdc._exceptions import ConfigError
from eventyard.kafka import Retry, TopicPartitionKey

__all__ = ["PartitionLag", "RebuildReport", "RunnerConfig", "RunnerMetrics"]

# Outages of PostgreSQL: 0.5 s growing to 5 s between tries, for at most two minutes.
_RETRY = Retry(attempts=None, timeout=120.0, wait_initial=0.5, wait_max=5.0, wait_jitter=0.5)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunnerConfig:
    """How a :class:`ProjectionRunner` reaches Kafka and PostgreSQL.

    Give ``topics`` or a ``topic_pattern`` (a regular expression, e.g. ``r"shop\\.public\\..*"``).
    ``dead_letter_topic``: where poison records go; without one a poison record stops the runner.
    ``schema``: where the projection's tables and the offsets table live.
    ``retry``: a batch, or a read of the stored offsets, that fails because PostgreSQL is away
    (or a dead letter could not be written) is tried again, stamina waiting between tries; after
    ``retry.attempts`` tries or ``retry.timeout`` seconds the runner stops with
    :class:`ProjectionError` (by default: tries for two minutes). ``retry_backoff_s`` (a fixed
    pause) and ``retry_max_s`` are the old spellings of ``retry.wait_initial``/``wait_max`` and
    ``retry.timeout``: accepted for one more release, with a :class:`DeprecationWarning`.
    ``tune_gc``: :meth:`ProjectionRunner.start` tunes the process's cyclic garbage collector
    for batches of many short-lived objects. It calls :func:`gc.freeze`, so the collector's
    passes skip everything alive at start (the application's modules and objects), and raises
    the collector's first threshold to at least 50,000 allocations (CPython's is 700), so it
    runs a few times per batch instead of hundreds. In the benchmark the collector took
    ~0.3 s of a 2 s run untuned, ~0.2 s with the freeze alone, 0.06 s with both. Objects
    frozen are still freed by reference counting; set False when the process makes reference
    cycles among its start-up objects and drops them later, or tunes the collector itself.
    ``trace_context_column``: the source tables' column holding the W3C ``traceparent`` of the
    transaction that wrote the row. Given, each batch is applied in an ``apply batch`` span
    linking its events' contexts, and each change event carrying a context in an
    ``apply <schema.table>`` span that is that context's child (it joins the writer's trace).
    None (the default): no spans, no per-event work.
    """

    bootstrap_servers: str
    dsn: str
    group_id: str
    topics: tuple[str, ...] = ()
    topic_pattern: str | None = None
    dead_letter_topic: str | None = None
    schema: str = "public"
    offsets_table: str = "eventyard_cdc_offsets"
    batch_size: int = 2000
    poll_timeout_s: float = 0.2
    consumer_config: Mapping[str, Any] = field(default_factory=dict)
    producer_config: Mapping[str, Any] = field(default_factory=dict)
    retry: Retry = _RETRY
    lag_samples: int = 200_000
    tune_gc: bool = True
    trace_context_column: str | None = None
    retry_backoff_s: InitVar[float | None] = None
    retry_max_s: InitVar[float | None] = None

    def __post_init__(self, retry_backoff_s: float | None, retry_max_s: float | None) -> None:
        self._map_deprecated(retry_backoff_s, retry_max_s)
        if bool(self.topics) == bool(self.topic_pattern):
            raise ConfigError("give either topics or topic_pattern")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be positive, not {self.batch_size}")
        if self.topic_pattern is not None:
            try:
                re.compile(self.topic_pattern)
            except re.error as error:
                raise ConfigError(f"topic_pattern {self.topic_pattern!r}: {error}") from None

    def _map_deprecated(self, retry_backoff_s: float | None, retry_max_s: float | None) -> None:
        """The old ``retry_backoff_s`` and ``retry_max_s`` onto ``retry``, with a warning."""
        old: list[str] = []
        changes: dict[str, Any] = {}
        if retry_backoff_s is not None:  # a fixed pause
            old.append("retry_backoff_s")
            changes.update(wait_initial=retry_backoff_s, wait_max=retry_backoff_s, wait_jitter=0.0)
        if retry_max_s is not None:
            old.append("retry_max_s")
            changes.update(timeout=retry_max_s)
        if not old:
            return
        warnings.warn(
            f"RunnerConfig({', '.join(old)}) is deprecated: use "
            f"retry=Retry({', '.join(f'{k}=...' for k in changes)})",
            DeprecationWarning,
            stacklevel=4,
        )
        try:
            object.__setattr__(self, "retry", dataclasses.replace(self.retry, **changes))
        except ValueError as error:
            raise ConfigError(f"RunnerConfig: {error}") from None

    def consumer_settings(self, group_id: str | None = None) -> dict[str, Any]:
        """The confluent-kafka consumer configuration the runner uses."""
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "group.id": group_id or self.group_id,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "topic.metadata.refresh.interval.ms": 5000,
            # librdkafka pauses fetching for fetch.queue.backoff.ms (1 s by default) once its
            # prefetch queue is full (64 MB: ~20,000 records of 3 KB); a runner catching up
            # drains that in about a second, then waited for the pause to end.
            "fetch.queue.backoff.ms": 20,
            **self.consumer_config,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionLag:
    """One assigned partition: the next offset to apply, the end of the log, the difference."""

    topic: str
    partition: int
    position: int
    high_watermark: int | None
    lag: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunnerMetrics:
    """Counters since the runner started, and lag now.

    ``applied``: events committed through handlers. ``skipped``: records no handler wanted
    (tombstones, heartbeats, transaction metadata, other tables). ``fenced``: batches dropped
    because the stored offsets had moved (a rebalance or a rebuild). ``lag_ms_p50``/``p99``:
    source commit (``source.ts_ms``) to projection commit, over the last samples.
    """

    applied: int
    skipped: int
    dead_lettered: int
    batches: int
    rebalances: int
    fenced: int
    retries: int
    partitions: tuple[PartitionLag, ...]
    lag_ms_p50: float | None
    lag_ms_p99: float | None

    @property
    def total_lag(self) -> int:
        """Records not yet applied, over the partitions whose end is known."""
        return sum(p.lag or 0 for p in self.partitions)


@dataclass(frozen=True, slots=True, kw_only=True)
class RebuildReport:
    """What a rebuild read and where it stopped before the swap."""

    events: int
    skipped_poison: int
    positions: Mapping[TopicPartitionKey, int]
    seconds: float
