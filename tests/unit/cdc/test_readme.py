"""The blocks of libs/cdc/README.md that need no stack run as written (the projection example
runs in the integration tests); fragments compile."""

from __future__ import annotations

import pytest

from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "cdc" / "README.md")
DECODE = README.section("Decode")
PROJECT = README.section("Project")  # needs PostgreSQL, Kafka and Connect: integration tier


@pytest.mark.parametrize("block", README.params(b for b in README.blocks if b not in PROJECT))
def test_readme_block(block: Block) -> None:
    out = README.run(block).out
    if block in DECODE:
        assert out.strip() == "public.orders {'id': 7} shop.public.orders[0]@42"
