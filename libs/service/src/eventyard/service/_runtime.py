"""A service's life: boot in the background (database, migrations, Kafka), supervised workers,
readiness, and a stop that lets every worker finish the batch in hand.

The HTTP server starts at once; until boot succeeds ``/readyz`` answers 503 naming what is
unreachable, and requests that need the database get 503 (:class:`NotReady`), so nothing is
accepted that could be lost.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
import structlog
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from sqlalchemy.orm import Session, sessionmaker

from eventyard.kafka import Retry
from eventyard.service._database import describe, ensure_database, make_engine, migrate
from eventyard.service._errors import NotReady
from eventyard.service._settings import ServiceSettings
from eventyard.service._topics import ensure_topics
from eventyard.telemetry import Telemetry

__all__ = ["Runtime", "Worker"]

log = structlog.get_logger("eventyard.service")

# Boot is tried until it succeeds (or the service stops): 0.2 s doubling to 5 s between tries.
_BOOT_RETRY = Retry(attempts=None, timeout=None, wait_initial=0.2, wait_max=5.0, wait_jitter=0.0)


@dataclass(frozen=True, kw_only=True)
class Worker:
    """A background loop: ``run`` blocks until ``stop`` is called (from another thread).

    A ``run`` that raises is logged and started again after a pause, until the service stops.
    """

    name: str
    run: Callable[[], None]
    stop: Callable[[], None]


class _Supervised:
    def __init__(self, worker: Worker, stopping: threading.Event, pause_s: float) -> None:
        self.worker = worker
        self._stopping = stopping
        self._pause_s = pause_s
        self.restarts = 0
        self.thread = threading.Thread(target=self._loop, name=worker.name, daemon=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.worker.run()
            except Exception as error:
                self.restarts += 1
                log.error("worker crashed; restarting", worker=self.worker.name, error=repr(error))
                self._stopping.wait(self._pause_s)
            else:
                return


class Runtime:
    """Boot, workers and health of one service process."""

    def __init__(
        self,
        *,
        name: str,
        settings: ServiceSettings,
        migrations: Path | None,
        workers: Callable[[Runtime], Sequence[Worker]] = lambda _: (),
        topics: Sequence[str] = (),
        checks: Callable[[], Mapping[str, str]] | None = None,
        telemetry: Telemetry | None = None,
        retry: Retry = _BOOT_RETRY,
        retry_max_s: float | None = None,
    ) -> None:
        """``retry``: the pause after the ``n``-th failed boot is ``retry.delay(n)``; boot is tried
        until it succeeds, so ``retry.attempts`` and ``retry.timeout`` are not used.
        ``retry_max_s``, the old spelling of ``retry.wait_max``, still works for one release and
        warns."""
        if retry_max_s is not None:
            warnings.warn(
                "Runtime(retry_max_s) is deprecated: use retry=Retry(wait_max=...)",
                DeprecationWarning,
                stacklevel=2,
            )
            retry = dataclasses.replace(retry, wait_max=retry_max_s)
        self.name = name
        self.settings = settings
        self._migrations = migrations
        self._make_workers = workers
        self._topics = tuple(topics)
        self._telemetry = telemetry
        self._checks = checks
        self._retry = retry
        self._stopping = threading.Event()
        self._booted = threading.Event()
        self._engine: sa.Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._workers: list[_Supervised] = []
        self._boot_thread: threading.Thread | None = None
        self._problems: dict[str, str] = {"boot": "starting"}
        self._kafka_checked = (0.0, "not checked")
        self.dsn = settings.database_dsn()
        self.bootstrap = settings.bootstrap()

    # ---------------------------------------------------------------------------- resources

    @property
    def engine(self) -> sa.Engine:
        """The service database's engine; :class:`NotReady` before boot."""
        if self._engine is None or not self._booted.is_set():
            raise NotReady(f"{self.name} is starting: {self._describe_problems()}")
        return self._engine

    @property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions on the service database; :class:`NotReady` before boot."""
        if self._sessions is None or not self._booted.is_set():
            raise NotReady(f"{self.name} is starting: {self._describe_problems()}")
        if self._stopping.is_set():
            raise NotReady(f"{self.name} is shutting down")
        return self._sessions

    @property
    def booted(self) -> bool:
        return self._booted.is_set()

    # ---------------------------------------------------------------------------- life cycle

    def start(self) -> None:
        """Boot in a background thread (retrying) and then start the workers."""
        self._boot_thread = threading.Thread(target=self._boot, name="boot", daemon=True)
        self._boot_thread.start()

    def boot(self) -> None:
        """Boot in this thread (the ``migrate`` command and tests); returns once booted."""
        self._boot(start_workers=False)

    def _boot(self, *, start_workers: bool = True) -> None:
        failures = 0
        while not self._stopping.is_set():
            problem = self._try_boot()
            if problem is None:
                break
            self._problems["boot"] = problem
            failures += 1
            pause = self._retry.delay(failures)
            log.warning(
                "not ready; retrying", service=self.name, problem=problem, retry_s=round(pause, 3)
            )
            self._stopping.wait(pause)
        else:
            return
        self._problems.pop("boot", None)
        self._booted.set()
        if start_workers:
            self._workers = [
                _Supervised(worker, self._stopping, pause_s=1.0)
                for worker in self._make_workers(self)
            ]
            for supervised in self._workers:
                supervised.thread.start()
        log.info("ready", service=self.name, database=describe(self.dsn), kafka=self.bootstrap)

    def _try_boot(self) -> str | None:
        where = describe(self.dsn)
        try:
            ensure_database(self.dsn, connect_timeout_s=self.settings.connect_timeout_s)
            if self._engine is None:
                self._engine = make_engine(
                    self.dsn,
                    pool_size=self.settings.pool_size,
                    connect_timeout_s=self.settings.connect_timeout_s,
                )
                self._sessions = sessionmaker(self._engine)
                if self._telemetry is not None:
                    self._telemetry.instrument_engine(self._engine)
            if self._migrations is not None:
                migrate(self._engine, self._migrations)
        except (sa.exc.OperationalError, OSError) as error:
            return f"database {where} unreachable: {_first_line(error)}"
        except Exception as error:  # psycopg's own errors (CREATE DATABASE) land here too
            if type(error).__module__.startswith("psycopg"):
                return f"database {where} unreachable: {_first_line(error)}"
            raise
        kafka = self._check_kafka(force=True) or self._create_topics()
        return None if kafka is None else f"Kafka {self.bootstrap} unreachable: {kafka}"

    def _create_topics(self) -> str | None:
        """Create the topics this service consumes or produces, when they do not exist yet."""
        partitions = self.settings.topic_partitions
        try:
            created = ensure_topics(self.bootstrap, self._topics, partitions=partitions)
        except KafkaException as error:
            return f"cannot create topics {list(self._topics)}: {error.args[0].str()}"
        if created:
            log.info("topics created", service=self.name, topics=created, partitions=partitions)
        return None

    def stop(self) -> None:
        """Stop workers (each finishes the batch in hand), then close the database pool."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        for supervised in self._workers:
            try:
                supervised.worker.stop()
            except Exception as error:
                log.error("worker stop failed", worker=supervised.worker.name, error=repr(error))
        deadline = time.monotonic() + self.settings.shutdown_grace_s + 5
        for supervised in self._workers:
            supervised.thread.join(max(0.0, deadline - time.monotonic()))
        if self._boot_thread is not None:
            self._boot_thread.join(1)
        if self._engine is not None:
            self._engine.dispose()
        log.info("stopped", service=self.name)

    @asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """FastAPI lifespan: boot on start-up, stop (in a worker thread) on shutdown."""
        self.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(self.stop)

    # ---------------------------------------------------------------------------- health

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """Whether the service can take requests, and each check's state (``ok`` or
        ``running`` when good); the service's own ``checks`` join once it has booted."""
        checks: dict[str, str] = {}
        if self._stopping.is_set():
            checks["service"] = "shutting down"
        if not self._booted.is_set():
            checks["boot"] = self._describe_problems()
        else:
            checks["database"] = self._check_database() or "ok"
            checks["kafka"] = self._check_kafka() or "ok"
            for supervised in self._workers:
                alive = supervised.thread.is_alive()
                checks[f"worker:{supervised.worker.name}"] = "running" if alive else "stopped"
            if self._checks is not None:
                checks.update(self._checks())
        ok = all(v in {"ok", "running"} for v in checks.values())
        return ok, checks

    def _check_database(self) -> str | None:
        assert self._engine is not None
        try:
            with self._engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            return f"unreachable: {_first_line(error)}"
        return None

    def _check_kafka(self, *, force: bool = False) -> str | None:
        checked_at, result = self._kafka_checked
        if not force and time.monotonic() - checked_at < 5.0:
            return None if result == "ok" else result
        try:
            admin = AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000})
            admin.list_topics(timeout=2)
            result = "ok"
        except KafkaException as error:
            result = f"unreachable: {error.args[0].str() if error.args else error}"
        self._kafka_checked = (time.monotonic(), result)
        return None if result == "ok" else result

    def _describe_problems(self) -> str:
        return "; ".join(self._problems.values()) or "starting"


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
