"""The projection example of libs/cdc/README.md runs as written against the real stack."""

# ruff: noqa: PLR0917 - pytest passes fixtures

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from eventyard.stack import ConnectClient, drop_replication_slot

README = Path(__file__).parents[3] / "libs" / "cdc" / "README.md"


def test_projection_example_runs(
    pg_database: str,
    kafka_bootstrap: str,
    connect_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    topics_made: list[str],
) -> None:
    block = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)[1]
    monkeypatch.setenv("EVENTYARD_PG_DSN", pg_database)
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("EVENTYARD_CONNECT_URL", connect_url)
    namespace: dict[str, Any] = {}
    try:
        exec(block, namespace)  # noqa: S102 - running the documentation is the point
    finally:
        if "prefix" in namespace:
            topics_made.append(f"{namespace['prefix']}.")
            client = ConnectClient(connect_url)
            client.delete(namespace["prefix"])
            client.close()
            drop_replication_slot(pg_database, namespace["prefix"])
    printed = capsys.readouterr().out.strip().splitlines()
    lines = [line for line in printed if line.startswith(("applied", "lag:", "[("))]  # not logs
    assert lines[:2] == ["applied r 0", "applied r 1"]
    assert lines[-2:] == [
        "lag: 0",
        "[(1, 'new', Decimal('9.99')), (2, 'paid', Decimal('20.00'))]",
    ]
