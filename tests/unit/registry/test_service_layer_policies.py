"""Levels and modes (``registry.policies``): fallbacks, READONLY and IMPORT."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from eventyard_schema_registry import Registry
from eventyard_schema_registry.domain.errors import (
    InvalidCompatibilityLevel,
    InvalidMode,
    OperationNotPermitted,
    SubjectConfigNotSet,
    SubjectModeNotSet,
    SubjectNotFound,
)
from eventyard_schema_registry.domain.model import RegisterRequest

MakeRegistry = Callable[..., Registry]


def schema(
    name: str, *optional: str, id: int | None = None, version: int | None = None
) -> RegisterRequest:
    """Record ``name`` with optional int fields (each BACKWARD-compatible with the last);
    ``id`` and ``version`` as an IMPORT brings them."""
    fields = [{"name": field, "type": "int", "default": 0} for field in optional]
    value = {"type": "record", "name": name, "fields": fields}
    return RegisterRequest(schema=json.dumps(value), id=id, version=version)


# -- levels ------------------------------------------------------------------------------------


def test_the_global_level_starts_at_the_configured_default(make_registry: MakeRegistry) -> None:
    assert make_registry(default_compatibility="FULL").policies.level() == "FULL"


def test_levels_are_set_read_and_removed(registry: Registry) -> None:
    policies = registry.policies
    assert policies.level() == "BACKWARD"
    assert policies.set_level(None, "full") == "FULL"  # any case
    assert policies.level() == "FULL"
    assert policies.delete_level(None) == "FULL"
    assert policies.level() == "BACKWARD"
    assert policies.delete_level(None) == "BACKWARD"  # nothing set: the default


def test_a_subject_level_falls_back_to_the_global_only_when_asked(registry: Registry) -> None:
    policies = registry.policies
    policies.set_level(None, "FORWARD_TRANSITIVE")
    with pytest.raises(SubjectConfigNotSet):
        policies.level("users-value")
    assert policies.level("users-value", default_to_global=True) == "FORWARD_TRANSITIVE"
    assert policies.set_level("users-value", "FULL_TRANSITIVE") == "FULL_TRANSITIVE"
    assert policies.level("users-value") == "FULL_TRANSITIVE"
    assert policies.delete_level("users-value") == "FULL_TRANSITIVE"
    with pytest.raises(SubjectNotFound):
        policies.delete_level("users-value")


@pytest.mark.parametrize("level", ["SIDEWAYS", "", 3, None])
def test_an_unknown_level_is_refused(registry: Registry, level: object) -> None:
    with pytest.raises(InvalidCompatibilityLevel):
        registry.policies.set_level("users-value", level)


# -- modes -------------------------------------------------------------------------------------


def test_modes_are_set_read_and_removed(registry: Registry) -> None:
    policies = registry.policies
    assert policies.mode() == "READWRITE"
    with pytest.raises(SubjectModeNotSet):
        policies.mode("users-value")
    assert policies.set_mode(None, "readonly") == "READONLY"
    assert policies.mode("users-value", default_to_global=True) == "READONLY"
    assert policies.set_mode("users-value", "READWRITE") == "READWRITE"
    assert policies.mode("users-value") == "READWRITE"
    assert policies.delete_mode("users-value") == "READWRITE"
    with pytest.raises(SubjectNotFound):
        policies.delete_mode("users-value")
    assert policies.delete_mode(None) == "READONLY"
    assert policies.delete_mode(None) == "READWRITE"  # nothing set: the default


@pytest.mark.parametrize("mode", ["READONLY_OVERRIDE", "FORWARD", "", None])
def test_an_unknown_mode_is_refused(registry: Registry, mode: object) -> None:
    with pytest.raises(InvalidMode):
        registry.policies.set_mode("users-value", mode)


def test_readonly_refuses_new_schemas_and_deletion_but_finds_registered_ones(
    registry: Registry,
) -> None:
    first = registry.register("users-value", schema("A"))
    registry.policies.set_mode("users-value", "READONLY")
    assert registry.register("users-value", schema("A")) == first
    with pytest.raises(OperationNotPermitted, match="read-only"):
        registry.register("users-value", schema("A", "b"))
    for delete in (
        lambda: registry.deletions.delete_subject("users-value"),
        lambda: registry.deletions.delete_version("users-value", "1"),
    ):
        with pytest.raises(OperationNotPermitted, match="read-only"):
            delete()
    assert registry.versions("users-value") == [1]
    registry.policies.delete_mode("users-value")
    assert registry.register("users-value", schema("A", "b")).version == 2


def test_a_global_readonly_applies_to_subjects_without_their_own_mode(registry: Registry) -> None:
    registry.policies.set_mode(None, "READONLY")
    with pytest.raises(OperationNotPermitted):
        registry.register("users-value", schema("A"))
    registry.policies.set_mode("users-value", "READWRITE")
    assert registry.register("users-value", schema("A")).version == 1


# -- IMPORT ------------------------------------------------------------------------------------


def test_import_keeps_the_given_ids_and_versions_and_ids_continue_above(
    registry: Registry,
) -> None:
    registry.policies.set_mode("imported-value", "IMPORT")
    added = registry.register("imported-value", schema("Imported", id=4242, version=7))
    assert (added.version, added.schema.id) == (7, 4242)
    assert registry.version("imported-value", "7") == added
    assert json.loads(registry.schema(4242).schema)["name"] == "Imported"
    assert registry.register("later-value", schema("Later")).schema.id > 4242


def test_import_skips_compatibility(registry: Registry) -> None:
    registry.policies.set_mode("imported-value", "IMPORT")
    registry.register("imported-value", schema("Old", id=1, version=1))
    # A required field and a new name: BACKWARD would refuse it.
    required = json.dumps(
        {"type": "record", "name": "New", "fields": [{"name": "x", "type": "int"}]}
    )
    request = RegisterRequest(schema=required, id=2, version=2)
    assert registry.register("imported-value", request).version == 2


def test_import_needs_an_id(registry: Registry) -> None:
    registry.policies.set_mode("imported-value", "IMPORT")
    with pytest.raises(OperationNotPermitted, match="not in read-write mode"):
        registry.register("imported-value", schema("X"))


def test_an_id_outside_import_mode_is_refused(registry: Registry) -> None:
    with pytest.raises(OperationNotPermitted, match="not in import mode"):
        registry.register("users-value", schema("A", id=99))


def test_import_refuses_taken_ids_and_versions(registry: Registry) -> None:
    registry.policies.set_mode(None, "IMPORT")
    registry.register("imported-value", schema("A", id=10, version=1))
    with pytest.raises(OperationNotPermitted, match="already registered with id 10"):
        registry.register("other-value", schema("A", id=11, version=1))  # one schema, one id
    with pytest.raises(OperationNotPermitted, match="Overwrite new schema with id 10"):
        registry.register("other-value", schema("B", id=10, version=1))
    with pytest.raises(OperationNotPermitted, match="Version 1 of subject imported-value"):
        registry.register("imported-value", schema("C", id=12, version=1))
    assert registry.register("other-value", schema("A", id=10, version=3)).version == 3


def test_import_mode_needs_an_empty_scope_unless_forced(registry: Registry) -> None:
    registry.register("users-value", schema("A"))
    for subject in ("users-value", None):
        with pytest.raises(OperationNotPermitted, match="Cannot import since found existing"):
            registry.policies.set_mode(subject, "IMPORT")
    assert registry.policies.set_mode("users-value", "IMPORT", force=True) == "IMPORT"
    assert registry.policies.set_mode("users-value", "IMPORT") == "IMPORT"  # already there
    assert registry.policies.set_mode("empty-value", "IMPORT") == "IMPORT"
