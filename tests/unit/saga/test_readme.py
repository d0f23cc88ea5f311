"""The README's in-memory example runs as written (the whole README runs in the integration
tests, against the real stack)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[3] / "libs" / "saga" / "README.md"

pytestmark = pytest.mark.unit


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_in_memory_example_runs() -> None:
    exec(python_blocks()[0], {"__name__": "readme"})  # noqa: S102 - running the docs is the point


def test_the_readme_has_the_state_diagram_and_the_guarantees() -> None:
    text = README.read_text()
    assert "```mermaid\nstateDiagram-v2" in text
    for status in (
        "STARTED",
        "RUNNING",
        "COMPENSATING",
        "COMPLETED",
        "COMPENSATED",
        "COMPENSATION_FAILED",
        "FAILED",
    ):
        assert f"--> {status}" in text, status
    assert "## Guarantees" in text
