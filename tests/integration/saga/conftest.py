"""The shop on the real stack: one database, three services as processes, their topics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.integration.saga import harness
from tests.integration.saga import shop as shop_module
from tests.integration.saga.harness import ShopEnv

ShopFactory = Callable[..., Any]


@pytest.fixture
def shop_env(
    pg_database: str,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    tmp_path: Path,
) -> Iterator[ShopFactory]:
    """``shop_env(tuning=..., credit=..., stock=..., start=True)``: the shop, ready to run."""
    made: list[Any] = []
    created: list[str] = []

    def make(
        *,
        tuning: Any = None,
        credit: dict[str, int] | None = None,
        stock: dict[str, int] | None = None,
        start: bool = True,
    ) -> Any:
        prefix = unique_name("shop")
        created.extend(harness.make_topics(kafka_bootstrap, prefix))
        shop_module.create_schema(
            pg_database,
            customers_credit=credit or {"alice": 5000, "bob": 5000},
            stock=stock or {"apple": 100, "pear": 100},
        )
        env = ShopEnv(
            dsn=pg_database,
            kafka=kafka_bootstrap,
            prefix=prefix,
            logs=tmp_path,
            tuning=tuning or shop_module.Tuning(),
        )
        made.append(env)
        if start:
            env.start_all()
        return env

    yield make
    for env in made:
        env.stop_all()
        env.shop.close()
    harness.drop_topics(kafka_bootstrap, created)


@pytest.fixture
def shop() -> ModuleType:
    """The shop module (OrderData, Tuning, definitions...)."""
    return shop_module
