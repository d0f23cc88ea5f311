"""The Python blocks of libs/outbox/README.md run as written, in order, in one namespace,
against the real stack; ``py`` blocks are fragments (they would leave a connector running) and
are only compiled."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from tests.support.databases import fresh_database
from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "outbox" / "README.md", chained=True)


@pytest.fixture(scope="module")
def database(pg_dsn: str) -> Iterator[str]:
    with fresh_database(pg_dsn, "readme") as dsn:
        yield dsn


@pytest.fixture(scope="module")
def readme(database: str, kafka_bootstrap: str) -> Iterator[Readme]:
    """The README, run in one namespace on a database of its own (given as a URL, as the
    README's comment shows)."""
    info = psycopg.conninfo.conninfo_to_dict(database)
    url = sa.URL.create(
        "postgresql",
        username=str(info.get("user") or "postgres"),
        host=str(info.get("host")),
        port=int(str(info.get("port"))),
        database=str(info.get("dbname")),
    ).render_as_string(hide_password=False)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EVENTYARD_PG_DSN", url)
        env.setenv("EVENTYARD_KAFKA_BOOTSTRAP", kafka_bootstrap)
        README.reset()
        yield README
        if "engine" in README.namespace:
            README.namespace["engine"].dispose()
        README.reset()


@pytest.mark.parametrize("block", README.params())
def test_readme_block(readme: Readme, block: Block) -> None:
    readme.run(block)


def test_the_readme_left_what_it_says(readme: Readme, database: str) -> None:
    readme.run_all()
    with psycopg.connect(database) as conn:
        invoices = conn.execute("SELECT order_id, total FROM invoices").fetchall()
        waiting = conn.execute("SELECT aggregateid, type FROM outbox ORDER BY seq").fetchall()
    assert ("o-1", 42) in invoices
    # o-1 was sent and deleted; the publishing section ran after the relay stopped.
    assert waiting == [("o-2", "OrderPlaced"), ("o-2", "LabelPrinted"), ("o-3", "OrderPlaced")]
