"""The public checks: one reader/writer pair, or a new schema against its history at a level."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from eventyard.schemas._explain import explain
from eventyard.schemas._jsonpos import value_positions
from eventyard.schemas._levels import CompatibilityLevel, Direction
from eventyard.schemas._locate import document_pointer
from eventyard.schemas._nodes import clear_interned
from eventyard.schemas._parsing import Schema, SchemaInput, clear_parse_cache, parse_schema
from eventyard.schemas._results import CompatibilityResult, Incompatibility, IncompatibilityType
from eventyard.schemas._rules import AmbiguousFieldError, check_pair, clear_pair_cache

__all__ = ["check_compatibility", "check_reader_writer", "clear_caches"]


def check_reader_writer(reader: SchemaInput, writer: SchemaInput) -> CompatibilityResult:
    """Can ``reader`` read every datum written with ``writer``? (Avro schema resolution.)"""
    return CompatibilityResult.of(
        tuple(
            _pair(
                parse_schema(reader),
                parse_schema(writer),
                labels=("the reader", "the writer"),
                version=None,
                direction=None,
            )
        )
    )


def check_compatibility(
    new: SchemaInput,
    previous: Sequence[SchemaInput],
    level: CompatibilityLevel | str = CompatibilityLevel.BACKWARD,
) -> CompatibilityResult:
    """Check ``new`` against the earlier versions ``previous`` (oldest first) at ``level``.

    As Confluent Schema Registry: non-transitive levels compare with the latest version only;
    BACKWARD makes the new schema the reader, FORWARD the writer, FULL both. Findings are
    listed latest version first.
    """
    chosen = CompatibilityLevel.parse(level)
    new_schema = parse_schema(new)
    if isinstance(previous, str | bytes):
        raise TypeError("previous must be a sequence of schemas, not a single string")
    if chosen is CompatibilityLevel.NONE or not previous:
        return CompatibilityResult.of(())
    count = len(previous)
    versions = range(count, 0, -1) if chosen.transitive else (count,)
    found: list[Incompatibility] = []
    for version in versions:
        old = parse_schema(previous[version - 1])
        label = f"version {version}"
        for direction in chosen.directions:
            if direction is Direction.BACKWARD:
                labels = ("the new schema", label)
                found += _pair(new_schema, old, labels=labels, version=version, direction=direction)
            else:
                labels = (label, "the new schema")
                found += _pair(old, new_schema, labels=labels, version=version, direction=direction)
    return CompatibilityResult.of(tuple(found))


def clear_caches() -> None:
    """Forget cached parses, shared nodes and pair results (benchmarks start cold with it)."""
    clear_parse_cache()
    clear_pair_cache()
    clear_interned()
    _positions.cache_clear()


@functools.lru_cache(maxsize=64)
def _positions(text: str) -> dict[str, int]:
    return value_positions(text)


def _line(schema: Schema, tokens: list[str]) -> int | None:
    if schema.source is None:
        return None
    pointer = document_pointer(schema._parsed, tokens)
    text = schema.original
    positions = _positions(text)
    while True:
        offset = positions.get(pointer)
        if offset is not None:
            return text.count("\n", 0, offset) + 1
        if not pointer:
            return None
        pointer = pointer.rpartition("/")[0]


def _pair(
    reader: Schema,
    writer: Schema,
    *,
    labels: tuple[str, str],
    version: int | None,
    direction: Direction | None,
) -> list[Incompatibility]:
    reader_label, writer_label = labels

    def finding(
        kind: IncompatibilityType, message: str, line: int | None = None
    ) -> Incompatibility:
        return Incompatibility(
            type=kind,
            location="/",
            message=message,
            version=version,
            direction=direction,
            line=line,
        )

    try:
        issues = check_pair(reader._root, writer._root)
    except AmbiguousFieldError as error:
        matches = ", ".join(f"'{name}'" for name in error.matches)
        message = (
            f"Field '{error.field.name}' of record '{error.record.fullname}' in {reader_label} "
            f"matches several fields of {writer_label} ({matches}) through its aliases, so "
            "Avro cannot tell which one to read."
        )
        return [finding(IncompatibilityType.AMBIGUOUS_FIELD_ALIAS, message)]
    except (RecursionError, MemoryError) as error:
        message = (
            f"The check failed unexpectedly ({type(error).__name__}); counted as incompatible."
        )
        return [finding(IncompatibilityType.CHECKER_EXCEPTION, message)]
    if not issues:
        return []
    new_is_reader = direction is not Direction.FORWARD
    found: list[Incompatibility] = []
    for kind, path, _detail in issues:
        why = explain(
            kind,
            path,
            reader._root,
            writer._root,
            reader_label=reader_label,
            writer_label=writer_label,
        )
        new, tokens = (reader, why.reader_tokens) if new_is_reader else (writer, why.writer_tokens)
        found.append(
            Incompatibility(
                type=kind,
                location="/" + "/".join(path),
                message=why.message,
                version=version,
                direction=direction,
                line=_line(new, tokens),
            )
        )
    return found
