"""The examples of libs/telemetry/README.md run as written; the first prints what it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import eventyard.telemetry
from eventyard.telemetry.testing import reset

README = Path(eventyard.telemetry.__file__).parents[3] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_example_prints_what_the_readme_shows(capsys: pytest.CaptureFixture[str]) -> None:
    printed = re.findall(r"prints\n\n```text\n(.*?)```", README.read_text(), flags=re.DOTALL)[0]
    exec(_python_blocks()[0], {})  # noqa: S102 - running the documentation is the point
    assert capsys.readouterr().out == printed


def test_the_service_example_runs() -> None:
    reset()
    exec(_python_blocks()[1], {"__name__": "readme"})  # noqa: S102 - running the docs is the point


def test_the_readme_names_every_public_name() -> None:
    text = README.read_text()
    for name in eventyard.telemetry.__all__:
        assert name in text, name
