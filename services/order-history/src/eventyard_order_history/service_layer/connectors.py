"""Keeping the shop's Debezium connectors registered and running.

Until a connector's source table exists (its service creates it), the connector is not
registered: Debezium would fail creating its publication. Registration is retried with backoff,
each connector's state is reported (``/readyz``), and afterwards the keeper checks them every
few seconds: a deleted connector is registered again, a failed task restarted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

import structlog

from eventyard.kafka.connect import ConnectClient, ConnectError
from eventyard_order_history.adapters.debezium import ConnectorSpec

__all__ = ["ConnectorKeeper"]

log = structlog.get_logger("eventyard_order_history.connectors")

RUNNING = "running"


class ConnectorKeeper:
    """A worker: ``run()`` keeps ``specs`` registered until ``stop()``.

    ``configs`` maps each connector's name to its config; ``source_problem(spec)`` says what is
    missing in its source (None when ready); ``prepare()`` (creating the topics) runs until it
    succeeds once, before any registration, and then ``prepared`` is set.
    """

    def __init__(
        self,
        *,
        client: ConnectClient,
        specs: Sequence[ConnectorSpec],
        configs: Mapping[str, Mapping[str, str]],
        source_problem: Callable[[ConnectorSpec], str | None],
        prepare: Callable[[], object] = lambda: None,
        check_s: float = 10.0,
        retry_max_s: float = 10.0,
    ) -> None:
        self._client = client
        self._specs = tuple(specs)
        self._configs = configs
        self._source_problem = source_problem
        self._prepare = prepare
        self._check_s = check_s
        self._retry_max_s = retry_max_s
        self._stopping = threading.Event()
        self._states: dict[str, str] = dict.fromkeys((s.name for s in specs), "not registered")
        self.prepared = threading.Event()

    def states(self) -> dict[str, str]:
        """Each connector's state: ``running`` or what it waits for."""
        return dict(self._states)

    def run(self) -> None:
        """Register, then watch, until :meth:`stop`."""
        self._stopping.clear()
        pause = 0.5
        while not self._stopping.is_set():
            self.check_once()
            if all(state == RUNNING for state in self._states.values()):
                pause = 0.5
                self._stopping.wait(self._check_s)
            else:
                self._stopping.wait(pause)
                pause = min(pause * 2, self._retry_max_s)

    def stop(self) -> None:
        """Make :meth:`run` return."""
        self._stopping.set()

    def check_once(self) -> None:
        """One pass: register or repair each connector that is not running."""
        if not self.prepared.is_set():
            try:
                self._prepare()
            except Exception as error:
                problem = f"waiting: topics not created: {type(error).__name__}: {error}"
                self._states = dict.fromkeys(self._states, problem)
                log.warning("topics not created", error=repr(error))
                return
            self.prepared.set()
        for spec in self._specs:
            try:
                state = self._keep(spec)
            except ConnectError as error:
                state = f"waiting: {error}"
            except Exception as error:  # Kafka or PostgreSQL trouble: retried on the next pass
                state = f"waiting: {type(error).__name__}: {error}"
            if state != self._states[spec.name]:
                log.info("connector state", connector=spec.name, state=state)
            self._states[spec.name] = state

    def _keep(self, spec: ConnectorSpec) -> str:
        current = self._client.state(spec.name)
        if current == "RUNNING":
            if self._client.ensure(spec.name, self._configs[spec.name]):
                log.info("connector config updated", connector=spec.name)
            return RUNNING
        if current == "FAILED":
            self._client.restart(spec.name)
            return "failed: restarting"
        if current != "MISSING":
            return f"starting ({current.lower()})"
        problem = self._source_problem(spec)
        if problem is not None:
            return f"waiting: {problem}"
        self._client.ensure(spec.name, self._configs[spec.name])
        log.info("connector registered", connector=spec.name)
        return "registered: starting"
