"""The resolved schema graph the rule engine walks, built from fastavro's parsed schema.

Only what compatibility depends on is kept: kinds, full names, aliases, field names, field
aliases, whether a field has a default, enum symbols and default, fixed sizes. Logical types,
docs and default values are dropped (Confluent ignores logical types for compatibility).

Nodes are hash-consed: building the same acyclic sub-schema twice, in this or any other schema,
yields the same object. That lets the engine answer "same object" in O(1) and share pair results
across checks. Nodes on a cycle (recursive types) are never shared; they are marked
``cacheable = False`` and checked with a per-check memo, as Avro Java does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "PRIMITIVES",
    "ArrayNode",
    "EnumNode",
    "FieldNode",
    "FixedNode",
    "MapNode",
    "Node",
    "PrimitiveNode",
    "RecordNode",
    "UnionNode",
    "build_graph",
    "clear_interned",
]

PRIMITIVES: Final = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)

#: Beyond this many shared nodes the table (and the engine's pair cache) starts afresh.
_INTERN_LIMIT: Final = 200_000


class Node:
    """One schema node. ``kind`` is the Avro type name ("record", "int", "union", ...)."""

    __slots__ = ("cacheable", "kind", "self_safe")

    kind: str
    #: Acyclic, and shared through the intern table: pair results may be cached globally.
    cacheable: bool
    #: Reading data with this very schema as both reader and writer cannot fail.
    self_safe: bool

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.cacheable = True
        self.self_safe = True

    def describe(self, depth: int = 2) -> str:
        """A short human description: ``long``, ``record 'Order'``, ``array of string``."""
        return self.kind


class PrimitiveNode(Node):
    __slots__ = ()


class NamedNode(Node):
    """A record, enum or fixed: compared by unqualified name, or the reader's aliases."""

    __slots__ = ("aliases", "fullname", "name")

    def __init__(self, kind: str, fullname: str, aliases: frozenset[str]) -> None:
        super().__init__(kind)
        self.fullname = fullname
        self.name = fullname.rpartition(".")[2]
        self.aliases = aliases

    def describe(self, depth: int = 2) -> str:
        return f"{self.kind} '{self.fullname}'"


class FieldNode:
    """A record field: its name, aliases, whether it has a default, and its type."""

    __slots__ = ("aliases", "has_default", "name", "position", "type")

    def __init__(
        self, name: str, aliases: tuple[str, ...], has_default: bool, position: int, type_: Node
    ) -> None:
        self.name = name
        self.aliases = aliases
        self.has_default = has_default
        self.position = position
        self.type = type_


class RecordNode(NamedNode):
    __slots__ = ("by_name", "fields")

    def __init__(self, fullname: str, aliases: frozenset[str]) -> None:
        super().__init__("record", fullname, aliases)
        self.fields: tuple[FieldNode, ...] = ()
        self.by_name: dict[str, FieldNode] = {}

    def set_fields(self, fields: tuple[FieldNode, ...]) -> None:
        self.fields = fields
        self.by_name = {field.name: field for field in fields}


class EnumNode(NamedNode):
    __slots__ = ("default", "symbol_set", "symbols")

    def __init__(
        self, fullname: str, aliases: frozenset[str], symbols: tuple[str, ...], default: str | None
    ) -> None:
        super().__init__("enum", fullname, aliases)
        self.symbols = symbols
        self.symbol_set = frozenset(symbols)
        self.default = default


class FixedNode(NamedNode):
    __slots__ = ("size",)

    def __init__(self, fullname: str, aliases: frozenset[str], size: int) -> None:
        super().__init__("fixed", fullname, aliases)
        self.size = size


class ArrayNode(Node):
    __slots__ = ("items",)

    def __init__(self, items: Node) -> None:
        super().__init__("array")
        self.items = items

    def describe(self, depth: int = 2) -> str:
        return f"array of {self.items.describe(depth - 1)}" if depth > 0 else "array"


class MapNode(Node):
    __slots__ = ("values",)

    def __init__(self, values: Node) -> None:
        super().__init__("map")
        self.values = values

    def describe(self, depth: int = 2) -> str:
        return f"map of {self.values.describe(depth - 1)}" if depth > 0 else "map"


class UnionNode(Node):
    __slots__ = ("branches",)

    def __init__(self, branches: tuple[Node, ...]) -> None:
        super().__init__("union")
        self.branches = branches

    def describe(self, depth: int = 2) -> str:
        if depth <= 0:
            return "union"
        return "union [" + ", ".join(b.describe(depth - 1) for b in self.branches) + "]"


_NO_ALIASES: Final[frozenset[str]] = frozenset()
_PRIMITIVE_NODES: Final[dict[str, PrimitiveNode]] = {k: PrimitiveNode(k) for k in PRIMITIVES}
_interned: dict[tuple[Any, ...], Node] = {}


def clear_interned() -> None:
    """Forget every shared node (new parses build fresh ones)."""
    _interned.clear()


def _intern(key: tuple[Any, ...], node: Node) -> Node:
    found = _interned.get(key)
    if found is not None:
        return found
    if len(_interned) >= _INTERN_LIMIT:
        clear_interned()
    return _interned.setdefault(key, node)  # atomic under the GIL: racing builders agree


def _qualify(alias: str, namespace: str) -> str:
    if "." in alias or not namespace:
        return alias
    return f"{namespace}.{alias}"


class _Builder:
    """Turns one fastavro-parsed schema (named types referenced by full name) into nodes."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self._named = named
        self._done: dict[str, Node] = {}
        self._stack: list[str] = []
        self._building: dict[str, NamedNode] = {}
        self._cyclic: set[str] = set()

    # One return per Avro schema kind: the dispatch is the spec's list of types.
    def build(self, schema: Any) -> Node:  # noqa: PLR0911
        if isinstance(schema, str):
            primitive = _PRIMITIVE_NODES.get(schema)
            if primitive is not None:
                return primitive
            return self._reference(schema)
        if isinstance(schema, list):
            return self._union(schema)
        kind = schema["type"]
        if isinstance(kind, str) and kind in PRIMITIVES:
            return _PRIMITIVE_NODES[kind]  # logicalType and other properties are ignored
        if kind in ("record", "error"):
            return self._record(schema)
        if kind == "enum":
            return self._enum(schema)
        if kind == "fixed":
            return self._fixed(schema)
        if kind == "array":
            return self._container(ArrayNode(self.build(schema["items"])), "array")
        if kind == "map":
            return self._container(MapNode(self.build(schema["values"])), "map")
        return self.build(kind)  # {"type": "com.acme.Name"} or {"type": {...}}

    def _reference(self, fullname: str) -> Node:
        done = self._done.get(fullname)
        if done is not None:
            return done
        building = self._building.get(fullname)
        if building is not None:  # a back-edge: everything from there up is on a cycle
            start = self._stack.index(fullname)
            for name in self._stack[start:]:
                self._cyclic.add(name)
                on_cycle = self._building[name]
                on_cycle.cacheable = False
                on_cycle.self_safe = False
            return building
        return self.build(self._named[fullname])

    def _container(self, node: ArrayNode | MapNode, kind: str) -> Node:
        child = node.items if isinstance(node, ArrayNode) else node.values
        if not child.cacheable:
            node.cacheable = False
            node.self_safe = False
            return node
        return _intern((kind, id(child)), node)

    def _union(self, branches: list[Any]) -> Node:
        nodes = tuple(self.build(branch) for branch in branches)
        node = UnionNode(nodes)
        if all(branch.cacheable for branch in nodes):
            node.self_safe = all(branch.self_safe for branch in nodes)
            return _intern(("union", *map(id, nodes)), node)
        node.cacheable = False
        node.self_safe = False
        return node

    def _aliases(self, schema: Mapping[str, Any], fullname: str) -> frozenset[str]:
        aliases = schema.get("aliases")
        if not aliases:
            return _NO_ALIASES
        namespace = fullname.rpartition(".")[0]
        return frozenset(_qualify(alias, namespace) for alias in aliases)

    def _finish_named(self, fullname: str, node: NamedNode, key: tuple[Any, ...]) -> Node:
        self._stack.pop()
        del self._building[fullname]
        if fullname in self._cyclic or not node.cacheable:
            node.cacheable = False
            node.self_safe = False
            result: Node = node
        else:
            result = _intern(key, node)
        self._done[fullname] = result
        return result

    def _start_named(self, fullname: str, node: NamedNode) -> None:
        self._stack.append(fullname)
        self._building[fullname] = node

    def _record(self, schema: Mapping[str, Any]) -> Node:
        fullname = schema["name"]
        aliases = self._aliases(schema, fullname)
        node = RecordNode(fullname, aliases)
        self._start_named(fullname, node)
        fields: list[FieldNode] = []
        key_parts: list[Any] = ["record", fullname, aliases]
        cacheable = safe = True
        has_aliases = False
        build = self.build
        for position, raw in enumerate(schema["fields"]):
            field_type = build(raw["type"])
            field_aliases = tuple(raw["aliases"]) if raw.get("aliases") else ()
            has_default = "default" in raw
            name = raw["name"]
            fields.append(FieldNode(name, field_aliases, has_default, position, field_type))
            key_parts += (name, field_aliases, has_default, id(field_type))
            cacheable = cacheable and field_type.cacheable
            safe = safe and field_type.self_safe
            has_aliases = has_aliases or bool(field_aliases)
        node.set_fields(tuple(fields))
        if has_aliases:
            names = node.by_name
            safe = safe and not any(a in names for field in fields for a in field.aliases)
        node.cacheable = node.cacheable and cacheable
        node.self_safe = node.cacheable and safe
        key = tuple(key_parts)
        return self._finish_named(fullname, node, key)

    def _enum(self, schema: Mapping[str, Any]) -> Node:
        fullname = schema["name"]
        aliases = self._aliases(schema, fullname)
        symbols = tuple(schema["symbols"])
        default = schema.get("default")
        node = EnumNode(fullname, aliases, symbols, default)
        self._start_named(fullname, node)
        return self._finish_named(fullname, node, ("enum", fullname, aliases, symbols, default))

    def _fixed(self, schema: Mapping[str, Any]) -> Node:
        fullname = schema["name"]
        aliases = self._aliases(schema, fullname)
        size = int(schema["size"])
        node = FixedNode(fullname, aliases, size)
        self._start_named(fullname, node)
        return self._finish_named(fullname, node, ("fixed", fullname, aliases, size))


def build_graph(parsed: Any, named: Mapping[str, Any]) -> Node:
    """The node graph of a fastavro-parsed schema; ``named`` maps full names to definitions."""
    return _Builder(named).build(parsed)
