"""The in-memory store passes the same contract as the PostgreSQL store
(tests/integration/registry/test_store_contract.py)."""

from __future__ import annotations

import pytest

from eventyard_schema_registry.domain.model import Mode
from eventyard_schema_registry.service_layer.ports import Store
from eventyard_schema_registry.testing import MemoryStore, StoreContract


class TestMemoryStore(StoreContract):
    def make_store(self) -> Store:
        return MemoryStore()


def test_sessions_do_not_nest() -> None:
    # A nested session would wait for the open one forever: say so instead.
    store = MemoryStore()
    with store.session(), pytest.raises(RuntimeError, match="do not nest"), store.session():
        pass
    with store.session() as session:  # the store is usable again
        assert session.versions("orders-value") == []


def test_contents_outlive_close() -> None:
    # As a database outlives the registry's connection pool.
    store = MemoryStore()
    with store.session() as session:
        session.set_mode(None, Mode.READONLY)
    store.close()
    with store.session() as session:
        assert session.mode(None) is Mode.READONLY
