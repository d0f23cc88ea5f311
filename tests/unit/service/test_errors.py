"""The service runtime's errors: one tree, drawn in the docstring; the old config error name."""

from __future__ import annotations

import eventyard.service
from eventyard.service import _errors


def test_the_tree_is_drawn_and_true() -> None:
    doc = _errors.__doc__ or ""
    for name in _errors.__all__:
        assert name in doc, name
        assert issubclass(getattr(_errors, name), eventyard.service.ServiceError)
        assert name in eventyard.service.__all__


def test_the_old_config_error_name_is_the_same_class() -> None:
    assert eventyard.service.ConfigurationError is eventyard.service.ConfigError
