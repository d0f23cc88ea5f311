"""The faust-streaming example app (libs/cdc/examples/order_stats.py) runs as a worker on the
real broker, reads a Debezium topic with our decoder, and its tables end equal to SQL over the
source table."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

EXAMPLES = Path(__file__).parents[3] / "libs" / "cdc" / "examples"

ORDERS = """
CREATE TABLE orders (
    id int PRIMARY KEY,
    status text NOT NULL,
    amount numeric(12, 2) NOT NULL,
    placed_at timestamptz NOT NULL
);
ALTER TABLE orders REPLICA IDENTITY FULL;
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _expected(source: Any) -> dict[str, Any]:
    counts = source.rows("SELECT status, count(*) FROM orders GROUP BY status")
    windows = source.rows(
        "SELECT (floor(extract(epoch FROM placed_at) / 3600) * 3600)::bigint,"
        " sum(amount * 100)::bigint FROM orders GROUP BY 1"
    )
    return {
        "status_counts": dict(counts),
        "revenue_cents": {str(start): cents for start, cents in windows if cents},
    }


def test_order_statistics_app_on_the_real_broker(
    source: Any,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
    topics_made: list[str],
) -> None:
    source.sql(ORDERS)
    source.sql(
        "INSERT INTO orders SELECT i, 'new', i * 0.5, '2024-05-01 08:00+00'::timestamptz"
        " + i * interval '7 minutes' FROM generate_series(1, 120) i"
    )
    source.connect(["public.orders"])
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(EXAMPLES), os.environ.get("PYTHONPATH", "")]),
        "ORDER_STATS_BROKER": kafka_bootstrap,
        "ORDER_STATS_TOPIC": source.topic("public.orders"),
        "ORDER_STATS_APP_ID": unique_name("stats"),
    }
    topics_made.append(f"{env['ORDER_STATS_APP_ID']}-")  # the app's changelog topics
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "faust",
            "-A",
            "order_stats",
            "worker",
            "-l",
            "warn",
            "--web-port",
            str(port),
            "--web-host",
            "127.0.0.1",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        source.sql("UPDATE orders SET status = 'paid' WHERE id % 3 = 0")
        source.sql("UPDATE orders SET status = 'shipped', amount = amount + 1 WHERE id % 9 = 0")
        source.sql("DELETE FROM orders WHERE id % 10 = 0")
        source.sql(
            "INSERT INTO orders SELECT i, 'new', 2.25, '2024-05-02 00:30+00'"
            " FROM generate_series(200, 230) i"
        )
        expected = _expected(source)
        got: Any = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            try:
                got = httpx.get(f"http://127.0.0.1:{port}/stats/", timeout=5).json()
            except (httpx.HTTPError, ValueError):
                got = None
            if got == expected:
                break
            time.sleep(1)
        assert got == expected, (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            pytest.fail("the faust worker did not stop on SIGTERM")
        log.close()
