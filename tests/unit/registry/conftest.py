"""The registry for service-layer tests: wired by ``bootstrap`` as the service wires it, on the
in-memory store instead of PostgreSQL (as cosmicpython's tests use a fake unit of work)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventyard_schema_registry import Registry, Settings, bootstrap
from eventyard_schema_registry.adapters.memory import MemoryStore

MakeRegistry = Callable[..., Registry]


@pytest.fixture
def make_registry() -> MakeRegistry:
    """``make_registry(default_compatibility="NONE")``: a registry on a fresh in-memory store."""

    def make(**settings: Any) -> Registry:
        return bootstrap(Settings(**settings), store=MemoryStore())

    return make


@pytest.fixture
def registry(make_registry: MakeRegistry) -> Registry:
    """A registry with the default settings (global level BACKWARD) on a fresh store."""
    return make_registry(default_compatibility="BACKWARD")
