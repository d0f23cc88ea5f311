"""The PostgreSQL store passes the same contract as the in-memory store
(tests/unit/registry/test_store_contract.py).

The module gets a database of its own from the stack's PostgreSQL, dropped afterwards; each
store made gets a PostgreSQL schema of its own in it, created by the registry's migration.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from eventyard_schema_registry.adapters.engine import make_engine
from eventyard_schema_registry.adapters.migrations import migrate
from eventyard_schema_registry.adapters.sql import SqlStore
from eventyard_schema_registry.service_layer.ports import Store
from eventyard_schema_registry.testing import StoreContract

NewDatabase = Callable[[], AbstractContextManager[str]]

_schemas = itertools.count()


@pytest.fixture(scope="module")
def contract_dsn(new_database: NewDatabase) -> Iterator[str]:
    """A fresh database for this module's stores; dropped afterwards."""
    with new_database() as dsn:
        yield dsn


class TestSqlStore(StoreContract):
    dsn: str
    made: list[SqlStore]

    @pytest.fixture(autouse=True)
    def _database(self, contract_dsn: str) -> Iterator[None]:
        self.dsn = contract_dsn
        self.made = []
        yield
        for store in self.made:
            store.close()

    def make_store(self) -> Store:
        db_schema = f"contract_{next(_schemas)}"
        engine = make_engine(self.dsn, db_schema=db_schema, pool_size=self.threads)
        migrate(engine, db_schema=db_schema)
        store = SqlStore(engine, db_schema=db_schema)
        self.made.append(store)
        return store
