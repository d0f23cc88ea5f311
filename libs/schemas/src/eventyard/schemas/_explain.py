"""Turning an engine finding (type, Java-style path) into a sentence a person understands.

The path is replayed on both schemas at once: field indexes are the reader's (the writer field
is looked up by name/alias), union indexes the writer's, as in Avro Java's locations. The replay
also yields each side's document path, used to find the offending line in a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from eventyard.schemas._nodes import (
    ArrayNode,
    EnumNode,
    FieldNode,
    FixedNode,
    MapNode,
    NamedNode,
    Node,
    RecordNode,
    UnionNode,
)
from eventyard.schemas._results import IncompatibilityType
from eventyard.schemas._rules import AmbiguousFieldError, lookup_writer_field

__all__ = ["Explanation", "explain"]


@dataclass(slots=True)
class Explanation:
    """A finding's sentence and the document paths it points at in each schema."""

    message: str
    reader_tokens: list[str] = field(default_factory=list)
    writer_tokens: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Replay:
    reader: Node
    writer: Node | None
    crumbs: list[str] = field(default_factory=list)
    last_field: FieldNode | None = None
    reader_tokens: list[str] = field(default_factory=list)
    writer_tokens: list[str] = field(default_factory=list)
    writer_has_field: bool = False

    def context(self) -> str:
        if not self.crumbs:
            return "the schema"
        text = ""
        for crumb in self.crumbs:
            text += crumb if crumb in ("[]", "{}") or not text else f".{crumb}"
        return f"field '{text}'"

    def step(self, path: tuple[str, ...]) -> None:
        index = 0
        while index < len(path):
            step = path[index]
            index += 1
            reader, writer = self.reader, self.writer
            if step == "fields" and isinstance(reader, RecordNode):
                position = int(path[index])
                index += 1
                self._enter_field(reader, writer, reader.fields[position])
                if index < len(path) and path[index] == "type":
                    index += 1
                    self._enter_type()
            elif step == "items" and isinstance(reader, ArrayNode):
                items = writer.items if isinstance(writer, ArrayNode) else None
                self._descend(step, reader.items, items, "[]")
            elif step == "values" and isinstance(reader, MapNode):
                values = writer.values if isinstance(writer, MapNode) else None
                self._descend(step, reader.values, values, "{}")
            elif step.isdigit() and isinstance(writer, UnionNode):
                self.writer = writer.branches[int(step)]
                self.writer_tokens.append(step)
            else:
                self.reader_tokens.append(step)
                self.writer_tokens.append(step)

    def _enter_field(self, reader: RecordNode, writer: Node | None, read: FieldNode) -> None:
        self.reader_tokens += ["fields", str(read.position)]
        self.crumbs.append(read.name)
        self.last_field = read
        written: FieldNode | None = None
        if isinstance(writer, RecordNode):
            try:
                written = lookup_writer_field(writer, read)
            except AmbiguousFieldError:
                written = None
        if written is not None:
            self.writer_tokens += ["fields", str(written.position)]
            self.writer = written.type
            self.writer_has_field = True
        else:
            self.writer = writer
            self.writer_has_field = False

    def _enter_type(self) -> None:
        assert self.last_field is not None
        self.reader = self.last_field.type
        self.reader_tokens.append("type")
        if self.writer_has_field:
            self.writer_tokens.append("type")

    def _descend(self, token: str, reader: Node, writer: Node | None, crumb: str) -> None:
        self.reader, self.writer = reader, writer
        self.crumbs.append(crumb)
        self.reader_tokens.append(token)
        self.writer_tokens.append(token)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def explain(
    kind: IncompatibilityType,
    path: tuple[str, ...],
    reader: Node,
    writer: Node,
    *,
    reader_label: str,
    writer_label: str,
) -> Explanation:
    """Describe one finding at ``path`` of the ``reader``/``writer`` pair."""
    replay = _Replay(reader, writer)
    try:
        replay.step(path)
    except (IndexError, ValueError, AssertionError):  # pragma: no cover - defensive
        return Explanation(f"{kind} at /{'/'.join(path)}")
    message = _sentence(kind, replay, reader_label, writer_label)
    return Explanation(message, replay.reader_tokens, replay.writer_tokens)


# One sentence per incompatibility type reads best as one flat function.
def _sentence(  # noqa: PLR0911
    kind: IncompatibilityType, at: _Replay, reader_label: str, writer_label: str
) -> str:
    r, w = at.reader, at.writer
    where = at.context()
    if kind is IncompatibilityType.READER_FIELD_MISSING_DEFAULT_VALUE:
        record = f" of record '{r.fullname}'" if isinstance(r, NamedNode) else ""
        return (
            f"{_cap(reader_label)} has {where}{record} with no default value, and "
            f"{writer_label} has no such field to read it from."
        )
    w_text = w.describe() if w is not None else "another type"
    if kind is IncompatibilityType.TYPE_MISMATCH:
        w_kind = w.kind if w is not None else "it"
        return (
            f"{_cap(where)} is {r.describe()} in {reader_label} but {w_text} in {writer_label}; "
            f"Avro cannot read {w_kind} as {r.kind}."
        )
    if kind is IncompatibilityType.MISSING_UNION_BRANCH:
        return (
            f"{_cap(where)} can hold {w_text} in {writer_label}, but {reader_label}'s "
            f"{r.describe()} has no branch that can read it."
        )
    at_field = f" at {where}" if at.crumbs else ""
    if kind is IncompatibilityType.MISSING_ENUM_SYMBOLS and isinstance(r, EnumNode):
        written = w.symbol_set if isinstance(w, EnumNode) else frozenset()
        missing = sorted(written - r.symbol_set)
        listed = f"symbol{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
        return (
            f"Enum '{r.fullname}'{at_field} in {reader_label} lacks {listed}, which "
            f"{writer_label} can write, and has no default symbol to fall back on."
        )
    if kind is IncompatibilityType.NAME_MISMATCH and isinstance(r, NamedNode):
        w_name = w.fullname if isinstance(w, NamedNode) else "?"
        return (
            f"{_cap(where)} is {r.kind} '{r.fullname}' in {reader_label} but '{w_name}' in "
            f"{writer_label}; the names must match (namespace aside) unless {reader_label} "
            f"lists '{w_name}' in the {r.kind}'s aliases."
        )
    if kind is IncompatibilityType.FIXED_SIZE_MISMATCH and isinstance(r, FixedNode):
        w_size = w.size if isinstance(w, FixedNode) else "?"
        return (
            f"Fixed '{r.fullname}'{at_field} is {r.size} bytes in {reader_label} but "
            f"{w_size} bytes in {writer_label}."
        )
    return f"{kind} at {where}."  # pragma: no cover - every engine finding is handled above
