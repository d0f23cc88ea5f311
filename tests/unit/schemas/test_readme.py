"""The Python blocks of libs/schemas/README.md run as written and print what their comments
say."""

from __future__ import annotations

import pytest

from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "schemas" / "README.md")

PRINTS = {
    README.block(containing="check_compatibility("): (
        "2 BACKWARD READER_FIELD_MISSING_DEFAULT_VALUE /fields/3"
    ),
    README.block(containing="parse_schema("): "field 'a' has no \"type\"",
}


@pytest.mark.parametrize("block", README.params())
def test_readme_block(block: Block) -> None:
    out = README.run(block).out
    if block in PRINTS:
        assert PRINTS[block] in out
