"""The schema in register, lookup and compatibility bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from eventyard_schema_registry.domain.errors import InvalidSchema
from eventyard_schema_registry.domain.model import AVRO, RegisterRequest, SchemaReference

__all__ = ["register_request"]


class _Reference(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    subject: StrictStr
    version: StrictInt


class _Register(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    schema_text: StrictStr | None = Field(default=None, alias="schema")
    schema_type: StrictStr | None = Field(default=None, alias="schemaType")
    references: list[_Reference] | None = None
    id: StrictInt | None = None
    version: StrictInt | None = None


def register_request(body: dict[str, Any]) -> RegisterRequest:
    """The schema a register, lookup or compatibility body carries (42201 when unusable)."""
    try:
        parsed = _Register.model_validate(body)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise InvalidSchema(f"Invalid schema request: {problems}") from None
    if parsed.schema_text is None:
        raise InvalidSchema("Empty schema")
    return RegisterRequest(
        schema=parsed.schema_text,
        schema_type=parsed.schema_type or AVRO,
        references=tuple(
            SchemaReference(name=r.name, subject=r.subject, version=r.version)
            for r in parsed.references or ()
        ),
        id=parsed.id if parsed.id is not None and parsed.id >= 0 else None,
        version=parsed.version,
    )
