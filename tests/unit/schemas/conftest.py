"""Shared helpers for eventyard.schemas' unit tests.

With ``--import-mode=importlib`` test modules cannot import their neighbours, so the hypothesis
strategies module is registered here under a name no other test folder uses.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from eventyard.schemas import clear_caches

_NAME = "eventyard_schemas_strategies"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("strategies.py"))
    assert _spec is not None
    assert _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)


@pytest.fixture
def cold_caches() -> None:
    """Start a test with no cached parses, shared nodes or pair results."""
    clear_caches()
