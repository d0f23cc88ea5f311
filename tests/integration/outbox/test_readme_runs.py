"""The ``python`` code blocks of libs/outbox/README.md run as written, in order, in one namespace.

``py`` blocks are fragments (they would leave a connector running) and are only compiled.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

README = Path(__file__).parents[3] / "libs" / "outbox" / "README.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_readme_python_blocks_run_against_the_stack(
    pg_database: str, kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = psycopg.conninfo.conninfo_to_dict(pg_database)
    url = sa.URL.create(
        "postgresql",
        username=str(info.get("user") or "postgres"),
        host=str(info.get("host")),
        port=int(str(info.get("port"))),
        database=str(info.get("dbname")),
    ).render_as_string(hide_password=False)
    monkeypatch.setenv("EVENTYARD_PG_DSN", url)
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", kafka_bootstrap)
    blocks = _blocks("python")
    assert len(blocks) >= 4
    namespace: dict[str, Any] = {"__name__": "readme"}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - running the docs is the point
    with psycopg.connect(pg_database) as conn:
        invoices = conn.execute("SELECT order_id, total FROM invoices").fetchall()
        waiting = conn.execute("SELECT aggregateid, type FROM outbox ORDER BY seq").fetchall()
    assert ("o-1", 42) in invoices
    # o-1 was sent and deleted; the publishing section ran after the relay stopped.
    assert waiting == [("o-2", "OrderPlaced"), ("o-2", "LabelPrinted"), ("o-3", "OrderPlaced")]
    namespace["engine"].dispose()


def test_the_readme_fragments_compile() -> None:
    for block in _blocks("py"):
        compile(block, str(README), "exec")
