"""Compatibility at each level, the level in scope, and the checks the API offers.

The history is ``{a: int}``, ``{}``, ``{d: int}``; each candidate below is accepted at some
levels and refused at others, so that every level gives its own row of verdicts: the registry
must pick the right level, the right direction and the right versions (latest or all).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from eventyard_schema_registry import Registry
from eventyard_schema_registry.domain.errors import (
    IncompatibleSchema,
    InvalidSchema,
    SubjectNotFound,
    VersionNotFound,
)
from eventyard_schema_registry.domain.model import RegisterRequest

MakeRegistry = Callable[..., Registry]

SUBJECT = "things-value"


def record(*fields: dict[str, Any]) -> RegisterRequest:
    return RegisterRequest(
        schema=json.dumps({"type": "record", "name": "Thing", "fields": list(fields)})
    )


def number(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "int", **extra}


HISTORY = [record(number("a")), record(), record(number("d"))]
CANDIDATES = {
    "swaps d for an optional e": record(number("e", default=0)),
    "adds a required b": record(number("d"), number("b")),
    "brings a back as a string": record(
        number("d"), {"name": "a", "type": "string", "default": ""}
    ),
    "keeps a and d, adds a required b": record(number("a"), number("d"), number("b")),
}
VERDICTS = {  # one per candidate, in order: accepted?
    "NONE": (True, True, True, True),
    "BACKWARD": (True, False, True, False),
    "BACKWARD_TRANSITIVE": (True, False, False, False),
    "FORWARD": (False, True, True, True),
    "FORWARD_TRANSITIVE": (False, False, False, True),
    "FULL": (False, False, True, False),
    "FULL_TRANSITIVE": (False, False, False, False),
}


def with_history(registry: Registry, level: str) -> Registry:
    registry.policies.set_level(SUBJECT, "NONE")
    for schema in HISTORY:
        registry.register(SUBJECT, schema)
    registry.policies.set_level(SUBJECT, level)
    return registry


def test_every_level_has_its_own_verdicts() -> None:
    assert len(set(VERDICTS.values())) == len(VERDICTS)


@pytest.mark.parametrize("level", VERDICTS)
@pytest.mark.parametrize("candidate", list(CANDIDATES))
def test_registration_checks_at_the_subjects_level(
    registry: Registry, level: str, candidate: str
) -> None:
    with_history(registry, level)
    accepted = VERDICTS[level][list(CANDIDATES).index(candidate)]
    request = CANDIDATES[candidate]
    assert (registry.check(SUBJECT, request) == []) is accepted
    if accepted:
        assert registry.register(SUBJECT, request).version == 4
    else:
        with pytest.raises(IncompatibleSchema) as refused:
            registry.register(SUBJECT, request)
        assert f"compatibility: '{level}'" in refused.value.details[-1]
        assert registry.versions(SUBJECT) == [1, 2, 3]


def test_a_refusal_names_the_most_recent_incompatible_version(registry: Registry) -> None:
    with_history(registry, "FORWARD_TRANSITIVE")
    with pytest.raises(IncompatibleSchema) as refused:
        registry.register(SUBJECT, CANDIDATES["swaps d for an optional e"])  # v3 readers need d
    details = refused.value.details
    assert details[0].startswith("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE'")
    assert "{oldSchemaVersion: 3}" in details
    assert f'"{SUBJECT}"' in refused.value.message


def test_the_level_in_scope_is_the_subjects_then_the_global_then_the_default(
    make_registry: MakeRegistry,
) -> None:
    registry = make_registry(default_compatibility="NONE")
    registry.register(SUBJECT, record(number("a")))
    required = record(number("a"), number("b"))
    assert registry.check(SUBJECT, required) == []  # the default: NONE
    registry.policies.set_level(None, "BACKWARD")
    assert registry.check(SUBJECT, required) != []  # the global level
    registry.policies.set_level(SUBJECT, "FORWARD")
    assert registry.check(SUBJECT, required) == []  # the subject's own
    registry.policies.delete_level(SUBJECT)
    assert registry.check(SUBJECT, required) != []


def test_soft_deleted_versions_are_not_checked(registry: Registry) -> None:
    with_history(registry, "BACKWARD_TRANSITIVE")
    string_a = record({"name": "a", "type": "string", "default": ""})
    assert registry.check(SUBJECT, string_a) != []  # only v1 breaks it: a was an int
    registry.deletions.delete_version(SUBJECT, "1")
    assert registry.check(SUBJECT, string_a) == []
    assert registry.register(SUBJECT, string_a).version == 4


def test_a_check_against_one_version(registry: Registry) -> None:
    with_history(registry, "BACKWARD")
    string_a = CANDIDATES["brings a back as a string"]
    assert registry.check(SUBJECT, string_a, version="latest") == []
    assert registry.check(SUBJECT, string_a, version="1") != []
    with pytest.raises(VersionNotFound):
        registry.check(SUBJECT, string_a, version="9")
    with pytest.raises(SubjectNotFound):
        registry.check("nobody-value", string_a, version="1")
    assert registry.check("nobody-value", string_a) == []  # nothing to break


def test_verbose_checks_report_an_invalid_schema_instead_of_failing(registry: Registry) -> None:
    with_history(registry, "BACKWARD")
    broken = RegisterRequest(schema='{"type": "record"')
    with pytest.raises(InvalidSchema):
        registry.check(SUBJECT, broken)
    (message,) = registry.check(SUBJECT, broken, verbose=True)
    assert "not valid JSON" in message
