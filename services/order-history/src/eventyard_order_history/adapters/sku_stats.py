"""Units ordered per SKU per minute: a faust-streaming app over the orders change events, run
in its own thread and event loop inside the service process.

The agent counts an order's lines once, when its row is first seen ``APPROVED``
(:func:`~eventyard_order_history.domain.stats.approved_units`), in the minute of its
``updated_at``. The ``counted`` table remembers the order ids it counted, so later changes of an
approved order and Debezium's replays of the approval are not counted again. faust processing
is at-least-once and an event's table writes are not atomic: a crash between them can count
an order twice (see the service's README).

faust's worker normally owns the process (signal handlers, logging); here
:class:`_ThreadWorker` runs it without signal handlers, console output or logging setup, and
:meth:`SkuStats.stop` asks it to shut down from the service's thread.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import MutableMapping
from datetime import datetime
from typing import Any

import faust
import structlog

from eventyard.cdc import ChangeEvent
from eventyard.cdc.faust import changes, debezium_topic
from eventyard_order_history.domain.model import SkuMinute
from eventyard_order_history.domain.stats import APPROVED, approved_units, minute_of

__all__ = ["SkuStats", "StatsUnavailable", "parse_unit_key", "tally", "unit_key"]

log = structlog.get_logger("eventyard_order_history.sku_stats")


class StatsUnavailable(Exception):
    """The faust worker is not running (yet), so its tables cannot be read."""


class _ThreadWorker(faust.Worker):
    """A faust worker that runs outside the main thread; ``ready_flag`` is set once its tables
    are recovered and it consumes."""

    ready_flag: threading.Event

    def install_signal_handlers(self) -> None:
        """The service process handles signals; :meth:`SkuStats.stop` stops this worker."""

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        self.ready_flag.set()


def tally(
    change: ChangeEvent, counted: MutableMapping[str, int], units: MutableMapping[str, int]
) -> bool:
    """Count ``change`` into ``units`` (keys from :func:`unit_key`) if it approves an order not
    in ``counted``, and record the order there; True when it counted."""
    row = change.after
    if row is None or row.get("status") != APPROVED:
        return False
    order_id = str(row.get("id"))
    if order_id in counted:
        return False
    per_sku = approved_units(row)
    if per_sku is None:
        log.warning("approved order without readable lines; not counted", order_id=order_id)
        return False
    updated = row.get("updated_at")
    at = updated.timestamp() if isinstance(updated, datetime) else change.source.ts_ms / 1000
    minute = int(at - at % 60)
    for sku, quantity in per_sku.items():
        key = unit_key(minute, sku)
        units[key] = units.get(key, 0) + quantity
    counted[order_id] = minute
    return True


def unit_key(minute: int, sku: str) -> str:
    """The ``units`` table's key: faust tables want string keys (a tuple would come back from
    the changelog as a list)."""
    return json.dumps([minute, sku])


def parse_unit_key(key: str) -> tuple[int, str]:
    """``(minute, sku)`` of a :func:`unit_key`."""
    minute, sku = json.loads(key)
    return int(minute), str(sku)


class SkuStats:
    """The statistics app: ``run()`` (blocking, in a worker thread) until ``stop()``;
    ``snapshot()`` reads its table from any thread."""

    def __init__(
        self,
        *,
        app_id: str,
        bootstrap: str,
        topic: str,
        orders_table: str,
        wait_for: threading.Event | None = None,
    ) -> None:
        self._wait_for = wait_for
        self._app_id = app_id
        self._bootstrap = bootstrap
        self._topic = topic
        self._orders_table = orders_table
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: _ThreadWorker | None = None
        self._units: Any = None
        self._stopping = threading.Event()
        self._started = threading.Event()

    @property
    def running(self) -> bool:
        """True once the worker has recovered its tables and consumes."""
        return self._started.is_set() and not self._stopping.is_set()

    def run(self) -> None:
        """Run the faust worker in this thread until :meth:`stop` (once ``wait_for`` is set:
        the topic exists)."""
        self._stopping.clear()
        while self._wait_for is not None and not self._wait_for.is_set():
            if self._stopping.wait(0.5):
                return
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = self._app(loop)
        worker = _ThreadWorker(
            app, loop=loop, quiet=True, override_logging=False, redirect_stdouts=False
        )
        worker.spinner = None
        worker.ready_flag = self._started
        with self._lock:
            self._loop, self._worker = loop, worker
        try:
            worker.execute_from_commandline()
        except SystemExit as exit_:
            if exit_.code not in (0, None) and not self._stopping.is_set():
                raise RuntimeError(f"the faust worker exited with {exit_.code}") from None
        finally:
            self._started.clear()
            with self._lock:
                self._loop = self._worker = None
            asyncio.set_event_loop(None)
            if not loop.is_closed():
                loop.close()

    def stop(self) -> None:
        """Ask the worker to stop (it commits its offsets and leaves the group)."""
        self._stopping.set()
        with self._lock:
            loop, worker = self._loop, self._worker
        if loop is not None and worker is not None and not loop.is_closed():
            loop.call_soon_threadsafe(worker._schedule_shutdown, signal.SIGTERM)

    def snapshot(self, *, timeout_s: float = 5.0) -> list[SkuMinute]:
        """Units per SKU per minute, oldest minute first."""
        with self._lock:
            loop = self._loop
        if loop is None or not self.running:
            raise StatsUnavailable("the SKU statistics worker is starting")

        async def read() -> list[tuple[str, int]]:
            return list(self._units.items())

        try:
            items = asyncio.run_coroutine_threadsafe(read(), loop).result(timeout_s)
        except (RuntimeError, TimeoutError) as error:
            raise StatsUnavailable(f"the SKU statistics worker does not answer: {error}") from None
        result = []
        for key, units in items:
            minute, sku = parse_unit_key(key)
            result.append(SkuMinute(sku=sku, minute=minute_of(minute), units=units))
        return sorted(result, key=lambda s: (s.minute, s.sku))

    def _app(self, loop: asyncio.AbstractEventLoop) -> faust.App:
        app = faust.App(
            self._app_id,
            broker=f"kafka://{self._bootstrap}",
            store="memory://",
            web_enabled=False,
            stream_wait_empty=False,
            topic_partitions=1,
            loop=loop,
        )
        orders = debezium_topic(app, self._topic)
        counted = app.Table("counted", default=int, partitions=1)
        units = app.Table("units", default=int, partitions=1)
        self._units = units
        orders_table = self._orders_table

        @app.agent(orders)
        async def count(stream: Any) -> None:
            async for change in changes(stream, tables={orders_table}):
                if isinstance(change, ChangeEvent):
                    tally(change, counted, units)

        return app
