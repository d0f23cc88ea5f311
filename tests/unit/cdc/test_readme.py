"""The decoding example of libs/cdc/README.md runs as written (it needs no stack)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import eventyard.cdc
from eventyard.cdc import _exceptions

pytestmark = pytest.mark.unit

README = Path(eventyard.cdc.__file__).parents[3] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_decode_example_runs(capsys: Any) -> None:
    exec(python_blocks()[0], {})  # noqa: S102 - running the documentation is the point
    assert capsys.readouterr().out.strip() == ("public.orders {'id': 7} shop.public.orders[0]@42")


def test_the_readme_draws_the_real_exception_tree() -> None:
    text = README.read_text()
    for name in _exceptions.__all__:
        assert name in text
