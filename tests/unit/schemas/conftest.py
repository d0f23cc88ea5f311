"""Shared fixtures of eventyard.schemas' unit tests (the hypothesis strategies are in
``tests.unit.schemas.strategies``)."""

from __future__ import annotations

import pytest

from eventyard.schemas import clear_caches


@pytest.fixture
def cold_caches() -> None:
    """Start a test with no cached parses, shared nodes or pair results."""
    clear_caches()
