"""The Python blocks of libs/saga/README.md run as written, in order, against the real stack
(the in-memory example alone also runs in the unit tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.support.databases import fresh_database
from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "saga" / "README.md", chained=True)


@pytest.fixture(scope="module")
def readme(pg_dsn: str, kafka_bootstrap: str) -> Iterator[Readme]:
    """The README, run in one namespace with a database and a topic prefix of its own."""
    with fresh_database(pg_dsn, "readme") as dsn, pytest.MonkeyPatch.context() as env:
        env.setenv("EVENTYARD_PG_DSN", dsn)
        env.setenv("EVENTYARD_KAFKA_BOOTSTRAP", kafka_bootstrap)
        env.setenv("SHOP_TOPIC_PREFIX", f"readme_{uuid.uuid4().hex[:8]}")
        README.reset()
        yield README
        README.reset()


@pytest.mark.parametrize("block", README.params())
def test_readme_block(readme: Readme, block: Block) -> None:
    readme.run(block)
