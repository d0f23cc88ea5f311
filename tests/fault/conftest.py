"""Fault tests kill real processes at chosen moments, then count what survived."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/fault/" in str(item.path):
            item.add_marker(pytest.mark.fault)
