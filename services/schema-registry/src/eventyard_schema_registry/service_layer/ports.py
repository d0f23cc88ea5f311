"""The storage the registry needs: one small interface.

Implemented by ``adapters.sql`` (PostgreSQL) and ``adapters.memory`` (tests); both pass
:class:`eventyard_schema_registry.testing.StoreContract`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from eventyard.schemas import CompatibilityLevel
from eventyard_schema_registry.domain.model import (
    Mode,
    SchemaReference,
    StoredSchema,
    SubjectVersion,
)

__all__ = ["NewSchema", "Referrer", "Store", "StoreSession", "Usage"]


@dataclass(frozen=True, kw_only=True, slots=True)
class NewSchema:
    """A schema to store under a global id; equal ``fingerprint`` means the same schema."""

    fingerprint: str
    schema_type: str
    schema: str
    references: tuple[SchemaReference, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Usage:
    """A subject version that holds a schema id."""

    subject: str
    version: int
    deleted: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Referrer:
    """A schema, held by ``subject``, whose references name a given subject version."""

    schema_id: int
    subject: str
    deleted: bool


class StoreSession(Protocol):
    """Reads and writes inside one transaction (see :meth:`Store.session`).

    ``subject=None`` in the config and mode calls means the global setting.
    """

    def subjects(self, *, deleted: bool, deleted_only: bool, prefix: str) -> list[str]:
        """Subject names, sorted: with a live version; or any (``deleted``); or only
        subjects whose every version is soft-deleted (``deleted_only``)."""
        ...

    def versions(self, subject: str) -> list[SubjectVersion]:
        """Every version of ``subject``, soft-deleted ones included, ascending."""
        ...

    def add_version(self, subject: str, version: int, schema_id: int) -> None: ...

    def mark_deleted(self, subject: str, versions: Sequence[int]) -> None: ...

    def remove_versions(self, subject: str, versions: Sequence[int]) -> None: ...

    def schema(self, schema_id: int) -> StoredSchema | None: ...

    def schema_id(self, fingerprint: str) -> int | None: ...

    def add_schema(self, new: NewSchema, *, schema_id: int | None = None) -> int | None:
        """The id of ``new``, stored now unless a schema with its fingerprint exists.

        With ``schema_id`` (IMPORT mode) the schema takes that id; None when the id belongs
        to another schema. Safe under concurrency: one fingerprint gets exactly one id.
        """
        ...

    def usages(self, schema_id: int) -> list[Usage]: ...

    def referrers(self, subject: str, version: int) -> list[Referrer]: ...

    def level(self, subject: str | None) -> CompatibilityLevel | None: ...

    def set_level(self, subject: str | None, level: CompatibilityLevel | None) -> None: ...

    def mode(self, subject: str | None) -> Mode | None: ...

    def set_mode(self, subject: str | None, mode: Mode | None) -> None: ...


class Store(Protocol):
    """Where the registry keeps subjects, schemas, configs and modes."""

    def session(self, *, lock: str | None = None) -> AbstractContextManager[StoreSession]:
        """A transaction; with ``lock``, writers of that subject wait for each other.

        Raises :class:`~eventyard_schema_registry.domain.errors.StoreError` when the
        storage fails.
        """
        ...

    def ping(self) -> None:
        """Raise :class:`~eventyard_schema_registry.domain.errors.StoreError` unless ready."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
