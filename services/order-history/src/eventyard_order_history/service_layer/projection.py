"""Running the projection: one :class:`ProjectionRunner` at a time, made afresh after a crash."""

from __future__ import annotations

import threading
from collections.abc import Callable

from eventyard.cdc import ProjectionRunner, RunnerMetrics

__all__ = ["ProjectionLoop"]


class ProjectionLoop:
    """A worker: ``run()`` applies batches until ``stop()``; ``make()`` builds the runner.

    ``wait_for`` (the connectors registered) is awaited first, so the runner does not
    subscribe before its topics exist.
    """

    def __init__(
        self, make: Callable[[], ProjectionRunner], *, wait_for: threading.Event | None = None
    ) -> None:
        self._make = make
        self._wait_for = wait_for
        self._stopping = threading.Event()
        self._runner: ProjectionRunner | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        """Apply batches until :meth:`stop`; the runner is closed on the way out."""
        self._stopping.clear()
        while self._wait_for is not None and not self._wait_for.is_set():
            if self._stopping.wait(0.5):
                return
        with self._make() as runner:
            with self._lock:
                self._runner = runner
            try:
                if not self._stopping.is_set():
                    runner.run(stop=self._stopping)
            finally:
                with self._lock:
                    self._runner = None

    def stop(self) -> None:
        """Make :meth:`run` return after the batch in hand."""
        self._stopping.set()
        with self._lock:
            if self._runner is not None:
                self._runner.stop()

    def metrics(self) -> RunnerMetrics | None:
        """The running runner's metrics (None when none runs)."""
        with self._lock:
            return None if self._runner is None else self._runner.metrics()

    @property
    def running(self) -> bool:
        """True while a runner applies batches."""
        return self._runner is not None
