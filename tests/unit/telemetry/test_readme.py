"""The Python blocks of libs/telemetry/README.md run as written, each with telemetry not yet
configured, and print what the README says they print."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventyard.telemetry.testing import reset
from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "telemetry" / "README.md")


@pytest.fixture(autouse=True)
def unconfigured() -> Iterator[None]:
    reset()
    yield
    reset()


@pytest.mark.parametrize("block", README.params())
def test_readme_block(block: Block) -> None:
    README.run(block)
