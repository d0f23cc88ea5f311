"""Every Python block of libs/saga/README.md runs as written, against the real stack."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

README = Path(__file__).parents[3] / "libs" / "saga" / "README.md"


def test_the_readme_examples_run(
    pg_database: str,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVENTYARD_PG_DSN", pg_database)
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("SHOP_TOPIC_PREFIX", unique_name("readme"))
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) == 2
    namespace: dict[str, object] = {"__name__": "readme"}
    for block in blocks:
        exec(block, namespace)  # noqa: S102 - running the documentation is the point
