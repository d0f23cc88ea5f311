"""The Python blocks of libs/kafka/README.md run as written (fragments compile) and print what
the README says they print."""

from __future__ import annotations

import pytest

from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "kafka" / "README.md")


@pytest.mark.parametrize("block", README.params())
def test_readme_block(block: Block) -> None:
    README.run(block)
