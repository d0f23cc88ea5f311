"""The public surface is exactly what __all__ says; the namespace package stays PEP 420."""

from __future__ import annotations

from pathlib import Path

import pytest

import eventyard.schemas
from eventyard.schemas import SchemaParseError, SchemasError, _exceptions

pytestmark = pytest.mark.unit

SRC = Path(eventyard.schemas.__file__).parent


def test_all_is_pinned() -> None:
    assert eventyard.schemas.__all__ == [
        "CompatibilityLevel",
        "CompatibilityResult",
        "ConfigError",
        "Direction",
        "HistoryError",
        "Incompatibility",
        "IncompatibilityType",
        "RegistryError",
        "RegistryRejected",
        "RegistryUnavailable",
        "Schema",
        "SchemaInput",
        "SchemaParseError",
        "SchemasError",
        "check_compatibility",
        "check_reader_writer",
        "clear_caches",
        "parse_schema",
    ]
    assert sorted(eventyard.schemas.__all__) == eventyard.schemas.__all__
    for name in eventyard.schemas.__all__:
        assert hasattr(eventyard.schemas, name)


def test_namespace_package_and_typed_marker() -> None:
    assert not (SRC.parent / "__init__.py").exists()
    assert (SRC / "py.typed").is_file()


def test_private_modules_stay_private() -> None:
    public = {p.stem for p in SRC.glob("*.py") if not p.stem.startswith("_")}
    assert public == {"testing"}


def test_exception_tree_is_drawn_and_true() -> None:
    doc = _exceptions.__doc__ or ""
    for name in _exceptions.__all__:
        assert name in doc
        assert issubclass(getattr(_exceptions, name), SchemasError)
    assert issubclass(SchemaParseError, ValueError)
    assert _exceptions.RegistryUnavailable.retryable
    assert not _exceptions.RegistryRejected.retryable


def test_results_are_frozen() -> None:
    result = eventyard.schemas.check_reader_writer("int", "long")
    with pytest.raises(AttributeError):
        result.compatible = True  # type: ignore[misc]
