"""Properties of the checker over generated schemas and histories."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings

from eventyard.schemas import (
    CompatibilityLevel,
    check_compatibility,
    check_reader_writer,
    clear_caches,
    parse_schema,
)
from tests.unit.schemas.strategies import avro_schemas, record_histories

L = CompatibilityLevel


@settings(max_examples=200, deadline=None)
@given(avro_schemas)
def test_every_schema_is_compatible_with_itself(schema: Any) -> None:
    assert check_reader_writer(schema, schema).compatible


@settings(max_examples=150, deadline=None)
@given(record_histories())
def test_full_is_backward_and_forward(history: list[Any]) -> None:
    *previous, new = history
    for full, backward, forward in (
        (L.FULL, L.BACKWARD, L.FORWARD),
        (L.FULL_TRANSITIVE, L.BACKWARD_TRANSITIVE, L.FORWARD_TRANSITIVE),
    ):
        both = check_compatibility(new, previous, full).compatible
        assert both == (
            check_compatibility(new, previous, backward).compatible
            and check_compatibility(new, previous, forward).compatible
        )


@settings(max_examples=150, deadline=None)
@given(record_histories())
def test_transitive_implies_latest(history: list[Any]) -> None:
    *previous, new = history
    for transitive, latest in (
        (L.BACKWARD_TRANSITIVE, L.BACKWARD),
        (L.FORWARD_TRANSITIVE, L.FORWARD),
        (L.FULL_TRANSITIVE, L.FULL),
    ):
        if check_compatibility(new, previous, transitive).compatible:
            assert check_compatibility(new, previous, latest).compatible


@settings(max_examples=100, deadline=None)
@given(record_histories(max_versions=2))
def test_backward_is_forward_reversed(history: list[Any]) -> None:
    old, new = history
    assert (
        check_compatibility(new, [old], L.BACKWARD).compatible
        == check_compatibility(old, [new], L.FORWARD).compatible
    )


@settings(max_examples=100, deadline=None)
@given(record_histories())
def test_caches_never_change_a_verdict(history: list[Any]) -> None:
    *previous, new = history
    warm = check_compatibility(new, previous, L.FULL_TRANSITIVE)
    clear_caches()
    cold = check_compatibility(new, previous, L.FULL_TRANSITIVE)
    assert warm == cold
    assert warm.compatible is (not warm.messages)


@settings(max_examples=100, deadline=None)
@given(avro_schemas)
def test_parsing_is_stable(schema: Any) -> None:
    parsed = parse_schema(schema)
    assert parse_schema(parsed.text) == parsed
