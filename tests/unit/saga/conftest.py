"""Shared helpers for eventyard.saga's unit tests.

With ``--import-mode=importlib`` test modules cannot import their neighbours, so the hypothesis
strategies module is registered here under a name no other test folder uses.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "eventyard_saga_strategies"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).with_name("strategies.py"))
    assert _spec is not None
    assert _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)
