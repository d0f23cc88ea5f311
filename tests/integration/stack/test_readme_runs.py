"""The code blocks of libs/stack/README.md run as written."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

README = Path(__file__).parents[3] / "libs" / "stack" / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_python_api_example_runs(pg_dsn: str, capsys: Any) -> None:
    exec(_python_blocks()[0], {})  # noqa: S102 - running the documentation is the point
    assert capsys.readouterr().out.strip() == pg_dsn


def test_pytest_plugin_example_runs(kafka_bootstrap: str, new_topic: Callable[..., str]) -> None:
    namespace: dict[str, Any] = {}
    exec(_python_blocks()[1], namespace)  # noqa: S102
    namespace["test_publish"](kafka_bootstrap, new_topic)
