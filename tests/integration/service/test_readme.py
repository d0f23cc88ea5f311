"""The Python blocks of libs/service/README.md run as written (fragments compile): the example
serves on the real stack and prints what the README says it prints."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "service" / "README.md")


@pytest.mark.parametrize("block", README.params())
def test_readme_block(
    block: Block, pg_dsn: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENTYARD_PG_DSN", pg_dsn)
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", kafka_bootstrap)
    namespace: dict[str, Any] = {}
    try:
        README.run(block, namespace)
    finally:
        runtime = namespace.get("runtime")
        if runtime is not None:
            runtime.stop()
