"""Soft, then permanent deletion (``registry.deletions``), with Confluent's rules."""

from __future__ import annotations

import json

import pytest

from eventyard_schema_registry import Registry
from eventyard_schema_registry.domain.errors import (
    SubjectConfigNotSet,
    SubjectModeNotSet,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
    VersionNotSoftDeleted,
    VersionSoftDeleted,
)
from eventyard_schema_registry.domain.model import RegisterRequest

THINGS = "things-value"


def version_schema(n: int) -> RegisterRequest:
    """Version ``n`` of a record that gains an optional field each time (BACKWARD-safe)."""
    fields = [{"name": f"f{i}", "type": "int", "default": 0} for i in range(n)]
    return RegisterRequest(schema=json.dumps({"type": "record", "name": "Thing", "fields": fields}))


def register_versions(registry: Registry, count: int) -> list[int]:
    return [registry.register(THINGS, version_schema(n)).schema.id for n in range(1, count + 1)]


def test_a_soft_deleted_version_hides_until_asked_for(registry: Registry) -> None:
    register_versions(registry, 2)
    assert registry.deletions.delete_version(THINGS, "1") == 1
    assert registry.versions(THINGS) == [2]
    assert registry.versions(THINGS, deleted=True) == [1, 2]
    assert registry.versions(THINGS, deleted_only=True) == [1]
    with pytest.raises(VersionNotFound):
        registry.version(THINGS, "1")
    assert registry.version(THINGS, "1", deleted=True).deleted


def test_a_version_is_soft_deleted_before_it_is_removed(registry: Registry) -> None:
    register_versions(registry, 2)
    deletions = registry.deletions
    with pytest.raises(VersionNotSoftDeleted):
        deletions.delete_version(THINGS, "2", permanent=True)
    assert deletions.delete_version(THINGS, "2") == 2
    with pytest.raises(VersionSoftDeleted):
        deletions.delete_version(THINGS, "2")
    assert deletions.delete_version(THINGS, "2", permanent=True) == 2
    assert registry.versions(THINGS, deleted=True) == [1]
    with pytest.raises(VersionNotFound):
        deletions.delete_version(THINGS, "9")
    with pytest.raises(SubjectNotFound):
        deletions.delete_version("nobody-value", "1")


def test_deleting_latest_takes_the_latest_live_version(registry: Registry) -> None:
    register_versions(registry, 3)
    assert registry.deletions.delete_version(THINGS, "latest") == 3
    assert registry.deletions.delete_version(THINGS, "latest") == 2
    assert registry.version(THINGS, "latest").version == 1
    # Permanently, latest is the last version, soft-deleted or not.
    assert registry.deletions.delete_version(THINGS, "latest", permanent=True) == 3


def test_a_subject_is_soft_deleted_then_removed(registry: Registry) -> None:
    ids = register_versions(registry, 2)
    deletions = registry.deletions
    with pytest.raises(SubjectNotSoftDeleted):
        deletions.delete_subject(THINGS, permanent=True)
    assert deletions.delete_subject(THINGS) == [1, 2]
    assert registry.subjects() == []
    assert registry.subjects(deleted=True) == [THINGS]
    assert registry.subjects(deleted_only=True) == [THINGS]
    with pytest.raises(SubjectNotFound):
        registry.versions(THINGS)
    with pytest.raises(SubjectSoftDeleted):
        deletions.delete_subject(THINGS)
    assert [u.deleted for u in registry.usages(ids[0], deleted=True)] == [True]
    assert registry.usages(ids[0]) == []
    assert deletions.delete_subject(THINGS, permanent=True) == [1, 2]
    assert registry.subjects(deleted=True) == []
    with pytest.raises(SubjectNotFound):
        deletions.delete_subject(THINGS)
    # Ids outlive their versions, so data written with them can still be read.
    assert json.loads(registry.schema(ids[0]).schema)["name"] == "Thing"


def test_registering_again_after_a_soft_delete_reuses_the_id_with_a_new_version(
    registry: Registry,
) -> None:
    (schema_id,) = register_versions(registry, 1)
    registry.deletions.delete_subject(THINGS)
    again = registry.register(THINGS, version_schema(1))
    assert (again.schema.id, again.version) == (schema_id, 2)
    # As Confluent: the soft-deleted copy of the same schema goes for good.
    assert registry.versions(THINGS, deleted=True) == [2]


def test_a_soft_delete_keeps_the_subjects_settings_and_a_permanent_one_drops_them(
    registry: Registry,
) -> None:
    register_versions(registry, 1)
    registry.policies.set_level(THINGS, "NONE")
    registry.policies.set_mode(THINGS, "READWRITE")
    registry.deletions.delete_subject(THINGS)
    assert registry.policies.level(THINGS) == "NONE"
    registry.deletions.delete_subject(THINGS, permanent=True)
    with pytest.raises(SubjectConfigNotSet):
        registry.policies.level(THINGS)
    with pytest.raises(SubjectModeNotSet):
        registry.policies.mode(THINGS)


def test_removing_the_last_version_drops_the_subjects_settings(registry: Registry) -> None:
    register_versions(registry, 2)
    registry.policies.set_level(THINGS, "NONE")
    for number in ("1", "2"):
        registry.deletions.delete_version(THINGS, number)
    registry.deletions.delete_version(THINGS, "1", permanent=True)
    assert registry.policies.level(THINGS) == "NONE"  # one version is left
    registry.deletions.delete_version(THINGS, "2", permanent=True)
    with pytest.raises(SubjectConfigNotSet):
        registry.policies.level(THINGS)
