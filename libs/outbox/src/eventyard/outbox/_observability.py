"""Relay metrics (Prometheus) and the health/readiness/metrics HTTP endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["HealthServer", "RelayMetrics"]


class RelayMetrics:
    """One relay's metrics, in a registry of its own (several relays may share a process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.published = Counter(
            "eventyard_outbox_published", "Rows acknowledged by Kafka and marked", registry=r
        )
        self.set_aside = Counter(
            "eventyard_outbox_set_aside", "Rows Kafka refused for good, set aside", registry=r
        )
        self.returned = Counter(
            "eventyard_outbox_returned",
            "Rows sent but not acknowledged (shutdown, outage), left for a later batch",
            registry=r,
        )
        self.batch_seconds = Histogram(
            "eventyard_outbox_batch_seconds",
            "Time from reading a batch to marking it published",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.batch_size = Histogram(
            "eventyard_outbox_batch_size",
            "Rows per batch",
            buckets=(1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000),
            registry=r,
        )
        self.backlog = Gauge(
            "eventyard_outbox_backlog",
            "Unpublished rows in the outbox (all partitions)",
            registry=r,
        )
        self.oldest_pending_seconds = Gauge(
            "eventyard_outbox_oldest_pending_seconds",
            "Age of the oldest unpublished row",
            registry=r,
        )
        self.set_aside_rows = Gauge(
            "eventyard_outbox_set_aside_rows", "Rows currently set aside", registry=r
        )
        self.partitions_owned = Gauge(
            "eventyard_outbox_partitions_owned", "Virtual partitions this relay owns", registry=r
        )
        self.relays = Gauge("eventyard_outbox_relays", "Relays in the group", registry=r)
        self.horizon = Gauge(
            "eventyard_outbox_horizon",
            "The safe horizon: rows up to this seq are final",
            registry=r,
        )
        self.errors = Counter(
            "eventyard_outbox_unexpected_errors",
            "Unexpected errors the relay recovered from by starting over",
            registry=r,
        )
        self.ready = Gauge(
            "eventyard_outbox_ready", "1 while PostgreSQL and Kafka are reachable", registry=r
        )

    def exposition(self) -> bytes:
        """The Prometheus text format of every metric."""
        return generate_latest(self.registry)


class HealthServer:
    """``GET /healthz`` (live), ``/readyz`` (ready) and ``/metrics`` on a background thread.

    ``live`` and ``ready`` are called per request; their detail document is returned as JSON.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        live: Callable[[], bool],
        ready: Callable[[], bool],
        detail: Callable[[], Mapping[str, Any]],
        metrics: RelayMetrics,
    ) -> None:
        checks = {"/healthz": live, "/livez": live, "/readyz": ready}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._reply(200, metrics.exposition(), CONTENT_TYPE_LATEST)
                    return
                check = checks.get(path)
                if check is None:
                    self._reply(404, b'{"error": "not found"}', "application/json")
                    return
                ok = check()
                body = json.dumps({"ok": ok, **detail()}, default=str).encode()
                self._reply(200 if ok else 503, body, "application/json")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="eventyard-outbox-health", daemon=True
        )

    @property
    def port(self) -> int:
        """The port it listens on (useful when 0 was asked for)."""
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Serve in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
