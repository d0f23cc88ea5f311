"""The Python blocks of libs/stack/README.md run as written: the API example prints the DSN the
stack gives, and the plugin example's test passes with the plugin's fixtures."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.readme import ROOT, Block, Readme

README = Readme(ROOT / "libs" / "stack" / "README.md")
API = README.block(containing="stack.endpoints()")


@pytest.mark.parametrize("block", README.params())
def test_readme_block(
    block: Block, pg_dsn: str, kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    ran = README.run(block)
    if block == API:
        assert ran.out.strip() == pg_dsn
    if "test_publish" in ran.namespace:
        ran.namespace["test_publish"](kafka_bootstrap, new_topic)
