"""The in-memory example of libs/saga/README.md runs as written (the integration tests run the
whole README against the real stack)."""

from __future__ import annotations

import pytest

from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "saga" / "README.md")


@pytest.mark.parametrize("block", README.params(README.section("tested in memory")))
def test_readme_block(block: Block) -> None:
    README.run(block)
