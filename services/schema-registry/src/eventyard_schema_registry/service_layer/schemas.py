"""Turning a client's schema into something storable and checkable: references resolved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from eventyard.schemas import Schema
from eventyard_schema_registry.domain.canonical import canonical_text, fingerprint
from eventyard_schema_registry.domain.compatibility import Checked, load_json, parse_avro
from eventyard_schema_registry.domain.errors import InvalidSchema
from eventyard_schema_registry.domain.model import (
    AVRO,
    LATEST,
    RegisterRequest,
    SchemaReference,
    StoredSchema,
    SubjectVersion,
)
from eventyard_schema_registry.domain.references import expand
from eventyard_schema_registry.service_layer.ports import NewSchema, StoreSession

__all__ = ["Prepared", "Resolver"]

_MAX_DEPTH: Final = 32


@dataclass(frozen=True, kw_only=True, slots=True)
class Prepared:
    """A valid schema from a request: what to store, and the parsed, self-contained form."""

    new: NewSchema
    parsed: Schema


@dataclass(kw_only=True, slots=True)
class Resolver:
    """Resolves references within one store session, remembering what it expanded."""

    session: StoreSession
    _expanded: dict[int, Any] = field(default_factory=dict)

    def prepare(self, request: RegisterRequest) -> Prepared:
        """Validate ``request``'s schema with its references; :class:`InvalidSchema` if not."""
        if request.schema_type.upper() != AVRO:
            raise InvalidSchema(
                f"Invalid schema type {request.schema_type}: this registry supports AVRO only"
            )
        if not request.schema.strip():
            raise InvalidSchema("Empty schema")
        value = load_json(request.schema)
        references = tuple(self._pin(r) for r in request.references)
        referenced = [self._value(self._target(r).schema, 1) for r in references]
        parsed, _ = parse_avro(value, referenced)
        text = canonical_text(value)
        new = NewSchema(
            fingerprint=fingerprint(AVRO, text, references),
            schema_type=AVRO,
            schema=text,
            references=references,
        )
        return Prepared(new=new, parsed=parsed)

    def checked(self, versions: Sequence[SubjectVersion]) -> list[Checked]:
        """``versions`` parsed with their references, for a compatibility check."""
        return [
            Checked(
                version=v.version,
                schema=parse_avro(self._value(v.schema, 0))[0],
                text=v.schema.schema,
            )
            for v in versions
        ]

    def _pin(self, reference: SchemaReference) -> SchemaReference:
        """The reference with ``latest`` replaced by the version it means now."""
        if reference.version != LATEST:
            return reference
        target = self._target(reference)
        return SchemaReference(name=reference.name, subject=target.subject, version=target.version)

    def _target(self, reference: SchemaReference) -> SubjectVersion:
        versions = self.session.versions(reference.subject)
        if reference.version == LATEST:
            live = [v for v in versions if not v.deleted]
            found = live[-1] if live else None
        else:
            found = next((v for v in versions if v.version == reference.version), None)
        if found is None:
            raise InvalidSchema(
                f"Invalid schema of type {AVRO}, details: no schema reference found for "
                f"subject '{reference.subject}' and version {reference.version} "
                f"(reference '{reference.name}')"
            )
        return found

    def _value(self, schema: StoredSchema, depth: int) -> Any:
        """The stored schema as a self-contained JSON value (its references inlined)."""
        if schema.id in self._expanded:
            return self._expanded[schema.id]
        if depth > _MAX_DEPTH:
            raise InvalidSchema(f"Schema references nest deeper than {_MAX_DEPTH} levels")
        referenced = [self._value(self._target(r).schema, depth + 1) for r in schema.references]
        value = expand(load_json(schema.schema), referenced)
        self._expanded[schema.id] = value
        return value
