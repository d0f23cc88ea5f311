"""The projection example of libs/cdc/README.md runs as written against the real stack (the
other blocks run in the unit tests)."""

# ruff: noqa: PLR0917 - pytest passes fixtures

from __future__ import annotations

from typing import Any

import pytest

from eventyard.stack import ConnectClient, drop_replication_slot
from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "cdc" / "README.md")


@pytest.mark.parametrize("block", README.params(README.section("Project")))
def test_readme_block(
    block: Block,
    pg_database: str,
    kafka_bootstrap: str,
    connect_url: str,
    monkeypatch: pytest.MonkeyPatch,
    topics_made: list[str],
) -> None:
    monkeypatch.setenv("EVENTYARD_PG_DSN", pg_database)
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("EVENTYARD_CONNECT_URL", connect_url)
    namespace: dict[str, Any] = {}
    try:
        out = README.run(block, namespace).out
    finally:
        if "prefix" in namespace:
            topics_made.append(f"{namespace['prefix']}.")
            client = ConnectClient(connect_url)
            client.delete(namespace["prefix"])
            client.close()
            drop_replication_slot(pg_database, namespace["prefix"])
    lines = [line for line in out.splitlines() if line.startswith(("applied", "lag:", "[("))]
    assert lines[:2] == ["applied r 0", "applied r 1"]
    assert lines[-2:] == [
        "lag: 0",
        "[(1, 'new', Decimal('9.99')), (2, 'paid', Decimal('20.00'))]",
    ]
