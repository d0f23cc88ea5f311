"""Kafka Connect schemas: what the JSON converter writes beside each payload, and what an Avro
schema written by Connect's Avro converter amounts to.

A :class:`ConnectSchema` names the semantic type of a value (``io.debezium.time.MicroTimestamp``,
``org.apache.kafka.connect.data.Decimal`` with its ``scale`` parameter...), which is what the
decoder needs to turn raw JSON or Avro values into Python values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventyard.cdc._exceptions import DecodeError

__all__ = ["ConnectField", "ConnectSchema", "from_avro", "from_connect_json"]

_AVRO_PRIMITIVES = {
    "boolean": "boolean",
    "int": "int32",
    "long": "int64",
    "float": "float",
    "double": "double",
    "bytes": "bytes",
    "string": "string",
    "fixed": "bytes",
    "enum": "string",
}
_AVRO_LOGICAL = {
    "date": "org.apache.kafka.connect.data.Date",
    "time-millis": "org.apache.kafka.connect.data.Time",
    "timestamp-millis": "org.apache.kafka.connect.data.Timestamp",
    "decimal": "org.apache.kafka.connect.data.Decimal",
}


@dataclass(frozen=True, slots=True, kw_only=True, eq=True)
class ConnectSchema:
    """One Connect schema node.

    ``type`` is Connect's (``int8`` ... ``int64``, ``float``, ``double``, ``boolean``, ``string``,
    ``bytes``, ``array``, ``map``, ``struct``); ``name`` the semantic type when there is one.
    Use it as a decoding hint for records without schemas::

        ConnectSchema(type="bytes", name="org.apache.kafka.connect.data.Decimal",
                      parameters={"scale": "2"})
    """

    type: str
    name: str | None = None
    optional: bool = True
    parameters: Mapping[str, str] = field(default_factory=dict)
    fields: tuple[ConnectField, ...] = ()
    items: ConnectSchema | None = None
    values: ConnectSchema | None = None
    default: Any = None

    def get_field(self, name: str) -> ConnectSchema | None:
        """The schema of the struct field ``name``, or None."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate.schema
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the struct's fields, in order."""
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True, slots=True)
class ConnectField:
    """A named field of a struct schema."""

    name: str
    schema: ConnectSchema


def from_connect_json(node: Any, path: str = "schema") -> ConnectSchema:
    """Read the ``schema`` object the JSON converter writes (``schemas.enable=true``)."""
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise DecodeError("a Connect schema must be an object with a string 'type'", field=path)
    kind = node["type"]
    fields: tuple[ConnectField, ...] = ()
    items = values = None
    if kind == "struct":
        raw_fields = node.get("fields")
        if not isinstance(raw_fields, list):
            raise DecodeError("a struct schema needs a 'fields' list", field=path)
        fields = tuple(
            ConnectField(str(f.get("field")), from_connect_json(f, f"{path}.{f.get('field', i)}"))
            for i, f in enumerate(raw_fields)
        )
    elif kind == "array":
        items = from_connect_json(node.get("items"), f"{path}[]")
    elif kind == "map":
        values = from_connect_json(node.get("values"), f"{path}{{}}")
    parameters = node.get("parameters") or {}
    return ConnectSchema(
        type=kind,
        name=node.get("name"),
        optional=bool(node.get("optional", False)),
        parameters={str(k): str(v) for k, v in parameters.items()},
        fields=fields,
        items=items,
        values=values,
        default=node.get("default"),
    )


def from_avro(  # noqa: PLR0911, PLR0912 - one branch per Avro construct
    node: Any, named: dict[str, ConnectSchema] | None = None
) -> ConnectSchema:
    """The Connect view of an Avro schema (as written by Connect's Avro converter).

    Unions with ``null`` become optional; ``connect.name`` and ``connect.parameters`` carry the
    semantic type; Avro logical types map to Connect's own (date, time-millis, timestamp-millis,
    decimal).
    """
    named = {} if named is None else named
    optional = False
    if isinstance(node, list):
        branches = [b for b in node if b != "null"]
        optional = len(branches) < len(node)
        if len(branches) != 1:
            raise DecodeError(f"unions of several non-null types are not Connect schemas: {node}")
        node = branches[0]
    if isinstance(node, str):
        if node in named:
            found = named[node]
            return _with_optional(found, optional)
        if node not in _AVRO_PRIMITIVES:
            raise DecodeError(f"unknown Avro type {node!r}")
        return ConnectSchema(type=_AVRO_PRIMITIVES[node], optional=optional)
    if not isinstance(node, dict):
        raise DecodeError(f"not an Avro schema: {node!r}")
    kind = node.get("type")
    if isinstance(kind, (list, dict)):
        return _with_optional(from_avro(kind, named), optional)
    parameters = {str(k): str(v) for k, v in (node.get("connect.parameters") or {}).items()}
    name = node.get("connect.name")
    logical = node.get("logicalType")
    if name is None and logical in _AVRO_LOGICAL:
        name = _AVRO_LOGICAL[logical]
    if name == "org.apache.kafka.connect.data.Decimal" and "scale" not in parameters:
        parameters["scale"] = str(node.get("scale", 0))
    connect_type = node.get("connect.type")
    if kind == "record":
        schema = ConnectSchema(
            type="struct",
            name=name or node.get("name"),
            optional=optional,
            parameters=parameters,
            fields=tuple(
                ConnectField(f["name"], from_avro(f["type"], named)) for f in node["fields"]
            ),
        )
        named[node["name"]] = schema
        if node.get("namespace"):
            named[f"{node['namespace']}.{node['name']}"] = schema
        return schema
    if kind == "array":
        return ConnectSchema(
            type="array", name=name, optional=optional, items=from_avro(node["items"], named)
        )
    if kind == "map":
        return ConnectSchema(
            type="map", name=name, optional=optional, values=from_avro(node["values"], named)
        )
    if kind not in _AVRO_PRIMITIVES:
        raise DecodeError(f"unknown Avro type {kind!r}")
    return ConnectSchema(
        type=str(connect_type or _AVRO_PRIMITIVES[kind]),
        name=name,
        optional=optional,
        parameters=parameters,
    )


def _with_optional(schema: ConnectSchema, optional: bool) -> ConnectSchema:
    if schema.optional == optional:
        return schema
    return ConnectSchema(
        type=schema.type,
        name=schema.name,
        optional=optional,
        parameters=schema.parameters,
        fields=schema.fields,
        items=schema.items,
        values=schema.values,
        default=schema.default,
    )
