"""The example of libs/kafka/README.md runs as written and prints what the README says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import eventyard.kafka

pytestmark = pytest.mark.unit

README = Path(eventyard.kafka.__file__).parents[3] / "README.md"


def test_the_example_prints_what_the_readme_shows(capsys: Any) -> None:
    text = README.read_text()
    example = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)[0]
    printed = re.findall(r"prints\n\n```text\n(.*?)```", text, flags=re.DOTALL)[0]
    exec(example, {})  # noqa: S102 - running the documentation is the point
    assert capsys.readouterr().out == printed
