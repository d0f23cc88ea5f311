"""The registry's store in memory: the same behaviour as :mod:`.sql`, for tests and experiments.

Both pass one contract (:class:`eventyard_schema_registry.testing.StoreContract`). A session
works on a copy of the tables and replaces them when it ends without an exception, so a failed
session leaves nothing behind. Sessions run one at a time (the store's lock), which is stronger
than the subject locks :meth:`MemoryStore.session` promises; sessions do not nest.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Final, TypeVar

from eventyard.schemas import CompatibilityLevel
from eventyard_schema_registry.domain.errors import StoreError
from eventyard_schema_registry.domain.model import Mode, StoredSchema, SubjectVersion
from eventyard_schema_registry.service_layer.ports import NewSchema, Referrer, Usage

__all__ = ["MemorySession", "MemoryStore"]

_GLOBAL: Final = ""
"""The key of the global level and mode, as in the SQL store (a subject named '' shares it)."""

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Row:
    schema_id: int
    deleted: bool = False


@dataclass(kw_only=True, slots=True)
class _Tables:
    """What the SQL store keeps in its tables, as dictionaries."""

    schemas: dict[int, StoredSchema] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)  # fingerprint -> id
    versions: dict[str, dict[int, _Row]] = field(default_factory=dict)  # subject -> version
    levels: dict[str, CompatibilityLevel] = field(default_factory=dict)
    modes: dict[str, Mode] = field(default_factory=dict)
    next_id: int = 1

    def copy(self) -> _Tables:
        return _Tables(
            schemas=dict(self.schemas),
            ids=dict(self.ids),
            versions={subject: dict(rows) for subject, rows in self.versions.items()},
            levels=dict(self.levels),
            modes=dict(self.modes),
            next_id=self.next_id,
        )


class MemoryStore:
    """A :class:`~eventyard_schema_registry.service_layer.ports.Store` in this process's memory.

    Its contents live as long as the object; :meth:`close` keeps them, as a database outlives
    its connection pool.
    """

    def __init__(self) -> None:
        self._tables = _Tables()
        self._lock = threading.Lock()
        self._holder: int | None = None

    @contextmanager
    def session(self, *, lock: str | None = None) -> Iterator[MemorySession]:
        """One transaction; sessions take turns, so ``lock`` needs no lock of its own."""
        del lock  # every session already excludes every other
        if self._holder == threading.get_ident():
            raise RuntimeError("MemoryStore sessions do not nest: end the open one first")
        with self._lock:
            self._holder = threading.get_ident()
            try:
                working = self._tables.copy()
                yield MemorySession(working)
                self._tables = working
            finally:
                self._holder = None

    def ping(self) -> None:
        """Always ready."""

    def close(self) -> None:
        """Nothing to release."""


class MemorySession:
    """The store's reads and writes on one working copy of the tables."""

    def __init__(self, tables: _Tables) -> None:
        self._tables = tables

    def subjects(self, *, deleted: bool, deleted_only: bool, prefix: str) -> list[str]:
        found = []
        for subject, rows in self._tables.versions.items():
            if not subject.startswith(prefix) or not rows:
                continue
            flags = [row.deleted for row in rows.values()]
            if (deleted_only and all(flags)) or (not deleted_only and (deleted or not all(flags))):
                found.append(subject)
        return sorted(found)

    def versions(self, subject: str) -> list[SubjectVersion]:
        rows = self._tables.versions.get(subject, {})
        return [
            SubjectVersion(
                subject=subject,
                version=number,
                deleted=rows[number].deleted,
                schema=self._tables.schemas[rows[number].schema_id],
            )
            for number in sorted(rows)
        ]

    def add_version(self, subject: str, version: int, schema_id: int) -> None:
        rows = self._tables.versions.setdefault(subject, {})
        if version in rows:
            raise StoreError(
                f"Error in the backend data store: version {version} of {subject!r} exists"
            )
        if schema_id not in self._tables.schemas:
            raise StoreError(f"Error in the backend data store: no schema with id {schema_id}")
        rows[version] = _Row(schema_id)

    def mark_deleted(self, subject: str, versions: Sequence[int]) -> None:
        rows = self._tables.versions.get(subject, {})
        for number in versions:
            if number in rows:
                rows[number] = replace(rows[number], deleted=True)

    def remove_versions(self, subject: str, versions: Sequence[int]) -> None:
        rows = self._tables.versions.get(subject, {})
        for number in versions:
            rows.pop(number, None)
        if not rows:
            self._tables.versions.pop(subject, None)

    def schema(self, schema_id: int) -> StoredSchema | None:
        return self._tables.schemas.get(schema_id)

    def schema_id(self, fingerprint: str) -> int | None:
        return self._tables.ids.get(fingerprint)

    def add_schema(self, new: NewSchema, *, schema_id: int | None = None) -> int | None:
        existing = self.schema_id(new.fingerprint)
        if existing is not None:
            return existing
        if schema_id is not None and schema_id in self._tables.schemas:
            return None  # the id belongs to another schema
        chosen = self._tables.next_id if schema_id is None else schema_id
        self._tables.schemas[chosen] = StoredSchema(
            id=chosen, schema_type=new.schema_type, schema=new.schema, references=new.references
        )
        self._tables.ids[new.fingerprint] = chosen
        # As the SQL store's sequence: ids continue above the largest, imported ones too.
        self._tables.next_id = max(self._tables.schemas) + 1
        return chosen

    def usages(self, schema_id: int) -> list[Usage]:
        return [
            Usage(subject=subject, version=number, deleted=row.deleted)
            for subject in sorted(self._tables.versions)
            for number, row in sorted(self._tables.versions[subject].items())
            if row.schema_id == schema_id
        ]

    def referrers(self, subject: str, version: int) -> list[Referrer]:
        referring = {
            schema.id
            for schema in self._tables.schemas.values()
            if any(r.subject == subject and r.version == version for r in schema.references)
        }
        found = {
            Referrer(schema_id=row.schema_id, subject=holder, deleted=row.deleted)
            for holder, rows in self._tables.versions.items()
            for row in rows.values()
            if row.schema_id in referring
        }
        return sorted(found, key=lambda r: (r.schema_id, r.subject, r.deleted))

    def level(self, subject: str | None) -> CompatibilityLevel | None:
        return self._tables.levels.get(_key(subject))

    def set_level(self, subject: str | None, level: CompatibilityLevel | None) -> None:
        _put(self._tables.levels, subject, level)

    def mode(self, subject: str | None) -> Mode | None:
        return self._tables.modes.get(_key(subject))

    def set_mode(self, subject: str | None, mode: Mode | None) -> None:
        _put(self._tables.modes, subject, mode)


def _key(subject: str | None) -> str:
    return _GLOBAL if subject is None else subject


def _put(table: dict[str, T], subject: str | None, value: T | None) -> None:
    if value is None:
        table.pop(_key(subject), None)
    else:
        table[_key(subject)] = value
