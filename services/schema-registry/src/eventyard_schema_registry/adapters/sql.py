"""The registry's store on PostgreSQL: SQLAlchemy Core over psycopg 3."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine

from eventyard.schemas import CompatibilityLevel
from eventyard_schema_registry.adapters.tables import (
    configs,
    modes,
    schema_references,
    schemas,
    subject_versions,
)
from eventyard_schema_registry.domain.errors import StoreError
from eventyard_schema_registry.domain.model import (
    Mode,
    SchemaReference,
    StoredSchema,
    SubjectVersion,
)
from eventyard_schema_registry.service_layer.ports import NewSchema, Referrer, Usage

__all__ = ["SqlSession", "SqlStore", "reason"]

_GLOBAL: Final = ""
_BYTES: Final = "C"
"""Collation for sorting subjects: code-point order (as Confluent's), whatever the database's."""


class SqlStore:
    """A :class:`~eventyard_schema_registry.service_layer.ports.Store` on PostgreSQL.

    ``engine`` must map the tables' schema (``None``) to ``db_schema`` with
    ``schema_translate_map`` (see :func:`eventyard_schema_registry.adapters.engine.make_engine`).
    """

    def __init__(self, engine: Engine, *, db_schema: str) -> None:
        self.engine = engine
        self.db_schema = db_schema

    @contextmanager
    def session(self, *, lock: str | None = None) -> Iterator[SqlSession]:
        """One transaction; ``lock`` takes a transaction-scoped advisory lock on a subject."""
        try:
            with self.engine.begin() as connection:
                if lock is not None:
                    key = f"eventyard_schema_registry:{self.db_schema}:{lock}"
                    connection.execute(
                        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(key, 0)))
                    )
                yield SqlSession(connection, db_schema=self.db_schema)
        except sa.exc.SQLAlchemyError as error:
            raise StoreError(f"Error in the backend data store: {reason(error)}") from error

    def ping(self) -> None:
        with self.session() as session:
            session.connection.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        self.engine.dispose()


class SqlSession:
    """The store's reads and writes on one connection, inside its transaction."""

    def __init__(self, connection: Connection, *, db_schema: str) -> None:
        self.connection = connection
        self.db_schema = db_schema

    def subjects(self, *, deleted: bool, deleted_only: bool, prefix: str) -> list[str]:
        subject = subject_versions.c.subject
        query = sa.select(subject).group_by(subject).order_by(subject.collate(_BYTES))
        if prefix:
            query = query.where(subject.startswith(prefix, autoescape=True))
        if deleted_only:
            query = query.having(sa.func.bool_and(subject_versions.c.deleted))
        elif not deleted:
            query = query.having(sa.func.bool_or(sa.not_(subject_versions.c.deleted)))
        return list(self.connection.scalars(query))

    def versions(self, subject: str) -> list[SubjectVersion]:
        query = (
            sa.select(
                subject_versions.c.version,
                subject_versions.c.deleted,
                schemas.c.id,
                schemas.c.schema_type,
                schemas.c.schema,
            )
            .join(schemas, schemas.c.id == subject_versions.c.schema_id)
            .where(subject_versions.c.subject == subject)
            .order_by(subject_versions.c.version)
        )
        rows = self.connection.execute(query).all()
        references = self._references({row.id for row in rows})
        return [
            SubjectVersion(
                subject=subject,
                version=row.version,
                deleted=row.deleted,
                schema=StoredSchema(
                    id=row.id,
                    schema_type=row.schema_type,
                    schema=row.schema,
                    references=references.get(row.id, ()),
                ),
            )
            for row in rows
        ]

    def add_version(self, subject: str, version: int, schema_id: int) -> None:
        self.connection.execute(
            sa.insert(subject_versions).values(
                subject=subject, version=version, schema_id=schema_id
            )
        )

    def mark_deleted(self, subject: str, versions: Sequence[int]) -> None:
        self.connection.execute(
            sa.update(subject_versions)
            .where(subject_versions.c.subject == subject, subject_versions.c.version.in_(versions))
            .values(deleted=True)
        )

    def remove_versions(self, subject: str, versions: Sequence[int]) -> None:
        self.connection.execute(
            sa.delete(subject_versions).where(
                subject_versions.c.subject == subject, subject_versions.c.version.in_(versions)
            )
        )

    def schema(self, schema_id: int) -> StoredSchema | None:
        row = self.connection.execute(
            sa.select(schemas.c.schema_type, schemas.c.schema).where(schemas.c.id == schema_id)
        ).first()
        if row is None:
            return None
        return StoredSchema(
            id=schema_id,
            schema_type=row.schema_type,
            schema=row.schema,
            references=self._references({schema_id}).get(schema_id, ()),
        )

    def schema_id(self, fingerprint: str) -> int | None:
        found: int | None = self.connection.scalar(
            sa.select(schemas.c.id).where(schemas.c.fingerprint == fingerprint)
        )
        return found

    def add_schema(self, new: NewSchema, *, schema_id: int | None = None) -> int | None:
        existing = self.schema_id(new.fingerprint)
        if existing is not None:
            return existing
        values: dict[str, Any] = {
            "fingerprint": new.fingerprint,
            "schema_type": new.schema_type,
            "schema": new.schema,
        }
        if schema_id is not None:
            values["id"] = schema_id
        # Without a conflict target: a concurrent insert of the same fingerprint (or, when
        # importing, of the same id) makes this a no-op instead of an error.
        inserted = self.connection.scalar(
            insert(schemas).values(**values).on_conflict_do_nothing().returning(schemas.c.id)
        )
        if inserted is None:
            return self.schema_id(new.fingerprint)
        if new.references:
            self.connection.execute(
                sa.insert(schema_references),
                [
                    {
                        "schema_id": inserted,
                        "position": position,
                        "name": ref.name,
                        "subject": ref.subject,
                        "version": ref.version,
                    }
                    for position, ref in enumerate(new.references)
                ],
            )
        if schema_id is not None:
            self._advance_ids()
        return int(inserted)

    def usages(self, schema_id: int) -> list[Usage]:
        rows = self.connection.execute(
            sa.select(
                subject_versions.c.subject, subject_versions.c.version, subject_versions.c.deleted
            )
            .where(subject_versions.c.schema_id == schema_id)
            .order_by(subject_versions.c.subject.collate(_BYTES), subject_versions.c.version)
        )
        return [Usage(subject=r.subject, version=r.version, deleted=r.deleted) for r in rows]

    def referrers(self, subject: str, version: int) -> list[Referrer]:
        rows = self.connection.execute(
            sa.select(
                subject_versions.c.schema_id, subject_versions.c.subject, subject_versions.c.deleted
            )
            .join(schema_references, schema_references.c.schema_id == subject_versions.c.schema_id)
            .where(schema_references.c.subject == subject, schema_references.c.version == version)
            .distinct()
        )
        return [Referrer(schema_id=r.schema_id, subject=r.subject, deleted=r.deleted) for r in rows]

    def level(self, subject: str | None) -> CompatibilityLevel | None:
        value = self.connection.scalar(
            sa.select(configs.c.compatibility).where(configs.c.subject == _key(subject))
        )
        return None if value is None else CompatibilityLevel(value)

    def set_level(self, subject: str | None, level: CompatibilityLevel | None) -> None:
        self._put(configs, "compatibility", subject, None if level is None else level.value)

    def mode(self, subject: str | None) -> Mode | None:
        value = self.connection.scalar(
            sa.select(modes.c.mode).where(modes.c.subject == _key(subject))
        )
        return None if value is None else Mode(value)

    def set_mode(self, subject: str | None, mode: Mode | None) -> None:
        self._put(modes, "mode", subject, None if mode is None else mode.value)

    def _put(self, table: sa.Table, column: str, subject: str | None, value: str | None) -> None:
        key = _key(subject)
        if value is None:
            self.connection.execute(sa.delete(table).where(table.c.subject == key))
            return
        statement = insert(table).values({"subject": key, column: value})
        self.connection.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.subject], set_={column: statement.excluded[column]}
            )
        )

    def _references(self, ids: set[int]) -> dict[int, tuple[SchemaReference, ...]]:
        if not ids:
            return {}
        rows = self.connection.execute(
            sa.select(schema_references)
            .where(schema_references.c.schema_id.in_(ids))
            .order_by(schema_references.c.schema_id, schema_references.c.position)
        )
        found: dict[int, list[SchemaReference]] = {}
        for row in rows:
            found.setdefault(row.schema_id, []).append(
                SchemaReference(name=row.name, subject=row.subject, version=row.version)
            )
        return {schema_id: tuple(refs) for schema_id, refs in found.items()}

    def _advance_ids(self) -> None:
        """After an imported id, make the id sequence continue above the largest id."""
        table = f"{self.db_schema}.{schemas.name}"
        self.connection.execute(
            sa.select(
                sa.func.setval(
                    sa.func.pg_get_serial_sequence(table, "id"),
                    sa.select(sa.func.max(schemas.c.id)).scalar_subquery(),
                )
            )
        )


def _key(subject: str | None) -> str:
    return _GLOBAL if subject is None else subject


def reason(error: sa.exc.SQLAlchemyError) -> str:
    """The first line of the driver's message (without SQLAlchemy's SQL and links)."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
