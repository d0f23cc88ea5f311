"""The registry's use cases: subjects, versions, schemas by id, and compatibility checks."""

from __future__ import annotations

import structlog

from eventyard.schemas import CompatibilityLevel
from eventyard_schema_registry.domain.compatibility import compatibility_messages
from eventyard_schema_registry.domain.errors import (
    IncompatibleSchema,
    InvalidSchema,
    OperationNotPermitted,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)
from eventyard_schema_registry.domain.model import (
    LATEST,
    Mode,
    RegisterRequest,
    StoredSchema,
    SubjectVersion,
    parse_version,
)
from eventyard_schema_registry.service_layer.deletions import Deletions
from eventyard_schema_registry.service_layer.policies import Policies
from eventyard_schema_registry.service_layer.ports import Store, StoreSession, Usage
from eventyard_schema_registry.service_layer.schemas import Prepared, Resolver

__all__ = ["Registry"]

log = structlog.get_logger("eventyard_schema_registry.registry")


class Registry:
    """Confluent Schema Registry's behaviour over a :class:`Store`.

    Subjects, versions, schemas by id and compatibility checks are its own methods; levels and
    modes are :attr:`policies`, soft and permanent deletion :attr:`deletions`, all on the same
    store. Reads run in one store transaction each. Writers of one subject take its lock, so its
    versions are numbered without gaps or duplicates even across registry processes.
    """

    def __init__(
        self, store: Store, *, default_level: CompatibilityLevel = CompatibilityLevel.BACKWARD
    ) -> None:
        self.store = store
        self.policies = Policies(store, default_level=default_level)
        self.deletions = Deletions(store, policies=self.policies)

    def ping(self) -> None:
        """Raise :class:`StoreError` unless the store answers."""
        self.store.ping()

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    # -- subjects and versions ---------------------------------------------------------------

    def subjects(
        self, *, deleted: bool = False, deleted_only: bool = False, prefix: str = ""
    ) -> list[str]:
        """Subject names, sorted (see :meth:`StoreSession.subjects`)."""
        with self.store.session() as session:
            return session.subjects(deleted=deleted, deleted_only=deleted_only, prefix=prefix)

    def versions(
        self, subject: str, *, deleted: bool = False, deleted_only: bool = False
    ) -> list[int]:
        """The subject's version numbers, ascending."""
        with self.store.session() as session:
            visible = _visible(session.versions(subject), deleted or deleted_only)
        if not visible:
            raise SubjectNotFound(subject)
        return [v.version for v in visible if v.deleted or not deleted_only]

    def version(self, subject: str, version: str, *, deleted: bool = False) -> SubjectVersion:
        """One version (``"latest"`` or a number); soft-deleted ones only with ``deleted``."""
        number = parse_version(version)
        with self.store.session() as session:
            visible = _visible(session.versions(subject), deleted)
        return _pick(subject, visible, number)

    def register(self, subject: str, request: RegisterRequest) -> SubjectVersion:
        """Register ``request`` under ``subject``, or find it there; its version and id.

        The schema must be valid (references resolved) and compatible with the subject's
        live versions at its level. The same schema gets the same id in every subject.
        """
        with self.store.session() as session:  # the common case, without the lock
            prepared = Resolver(session=session).prepare(request)
            found = self._registered(session, session.versions(subject), prepared, request.id)
        if found is not None:
            return found
        with self.store.session(lock=subject) as session:
            return self._add(session, subject, request)

    def _add(self, session: StoreSession, subject: str, request: RegisterRequest) -> SubjectVersion:
        """Under the subject's lock: find the schema again, else check and add a version."""
        resolver = Resolver(session=session)
        prepared = resolver.prepare(request)
        history = session.versions(subject)
        found = self._registered(session, history, prepared, request.id)
        if found is not None:
            return found
        mode = self.policies.mode_in_scope(session, subject)
        _check_mode(subject, mode, importing=request.id is not None)
        if mode is Mode.READWRITE:
            live = [v for v in history if not v.deleted]
            level = self.policies.level_in_scope(session, subject)
            messages = compatibility_messages(prepared.parsed, resolver.checked(live), level)
            if messages:
                raise IncompatibleSchema(subject, messages)
        schema_id = self._schema_id(session, prepared, request.id)
        number = _next_version(subject, history, request.version, mode)
        # As Confluent: a soft-deleted copy of the same schema goes for good (unless referenced).
        copies = [v.version for v in history if v.deleted and v.schema.id == schema_id]
        gone = [n for n in copies if not session.referrers(subject, n)]
        if gone:
            session.remove_versions(subject, gone)
        session.add_version(subject, number, schema_id)
        log.info("registering schema", subject=subject, version=number, schema_id=schema_id)
        new = prepared.new
        stored = StoredSchema(
            id=schema_id, schema_type=new.schema_type, schema=new.schema, references=new.references
        )
        return SubjectVersion(subject=subject, version=number, deleted=False, schema=stored)

    def lookup(
        self, subject: str, request: RegisterRequest, *, deleted: bool = False
    ) -> SubjectVersion:
        """The version of ``subject`` that holds ``request``'s schema."""
        with self.store.session() as session:
            prepared = Resolver(session=session).prepare(request)
            visible = _visible(session.versions(subject), deleted)
            schema_id = session.schema_id(prepared.new.fingerprint)
        matches = [v for v in visible if v.schema.id == schema_id]
        if matches:
            return matches[-1]
        if not visible:
            raise SubjectNotFound(subject)
        raise SchemaNotFound()

    def referenced_by(self, subject: str, version: str, *, deleted: bool = False) -> list[int]:
        """Ids of the schemas whose references name this subject version."""
        number = parse_version(version)
        with self.store.session() as session:
            target = _pick(subject, session.versions(subject), number)
            referrers = session.referrers(subject, target.version)
        return sorted({r.schema_id for r in referrers if deleted or not r.deleted})

    # -- schemas by id -------------------------------------------------------------------------

    def schema(self, schema_id: int) -> StoredSchema:
        """The schema with this global id."""
        with self.store.session() as session:
            found = session.schema(schema_id)
        if found is None:
            raise SchemaNotFound(schema_id)
        return found

    def usages(self, schema_id: int, *, deleted: bool = False) -> list[Usage]:
        """The subject versions that hold this id, by subject then version."""
        with self.store.session() as session:
            if session.schema(schema_id) is None:
                raise SchemaNotFound(schema_id)
            return [u for u in session.usages(schema_id) if deleted or not u.deleted]

    # -- compatibility -------------------------------------------------------------------------

    def check(
        self,
        subject: str,
        request: RegisterRequest,
        *,
        version: str | None = None,
        verbose: bool = False,
    ) -> list[str]:
        """Why ``request`` could not be registered now; empty when it could.

        Against one version (``"latest"`` or a number) or, with ``version=None``, against
        every live version as registration would. With ``verbose``, an invalid schema is a
        finding instead of an error, as in Confluent.
        """
        number = None if version is None else parse_version(version)
        with self.store.session() as session:
            history = session.versions(subject)
            live = [v for v in history if not v.deleted]
            if number is None:
                previous = live
            elif number == LATEST:
                previous = live[-1:]
            else:
                found = next((v for v in live if v.version == number), None)
                if found is None:
                    raise VersionNotFound(number) if history else SubjectNotFound(subject)
                previous = [found]
            resolver = Resolver(session=session)
            try:
                prepared = resolver.prepare(request)
            except InvalidSchema as error:
                if verbose:
                    return [error.message]
                raise
            level = self.policies.level_in_scope(session, subject)
            return compatibility_messages(prepared.parsed, resolver.checked(previous), level)

    # -- helpers -------------------------------------------------------------------------------

    def _registered(
        self,
        session: StoreSession,
        history: list[SubjectVersion],
        prepared: Prepared,
        wanted_id: int | None,
    ) -> SubjectVersion | None:
        schema_id = session.schema_id(prepared.new.fingerprint)
        if schema_id is None or (wanted_id is not None and wanted_id != schema_id):
            return None
        live = [v for v in history if not v.deleted and v.schema.id == schema_id]
        return live[-1] if live else None

    def _schema_id(self, session: StoreSession, prepared: Prepared, wanted: int | None) -> int:
        if wanted is not None:
            existing = session.schema_id(prepared.new.fingerprint)
            if existing is not None and existing != wanted:
                raise OperationNotPermitted(
                    f"This schema is already registered with id {existing}; "
                    f"it cannot be imported as id {wanted}"
                )
        schema_id = session.add_schema(prepared.new, schema_id=wanted)
        if schema_id is None:
            raise OperationNotPermitted(f"Overwrite new schema with id {wanted} is not permitted.")
        return schema_id


def _visible(versions: list[SubjectVersion], deleted: bool) -> list[SubjectVersion]:
    return versions if deleted else [v for v in versions if not v.deleted]


def _pick(subject: str, visible: list[SubjectVersion], number: int) -> SubjectVersion:
    if not visible:
        raise SubjectNotFound(subject)
    if number == LATEST:
        return visible[-1]
    found = next((v for v in visible if v.version == number), None)
    if found is None:
        raise VersionNotFound(number)
    return found


def _check_mode(subject: str, mode: Mode, *, importing: bool) -> None:
    if mode is Mode.READONLY:
        raise OperationNotPermitted(f"Subject {subject} is in read-only mode")
    if importing and mode is not Mode.IMPORT:
        raise OperationNotPermitted(f"Subject {subject} is not in import mode")
    if not importing and mode is not Mode.READWRITE:
        raise OperationNotPermitted(f"Subject {subject} is not in read-write mode")


def _next_version(
    subject: str, history: list[SubjectVersion], wanted: int | None, mode: Mode
) -> int:
    following = max((v.version for v in history), default=0) + 1
    if wanted is None or wanted in (0, LATEST):
        return following
    if mode is Mode.IMPORT:
        if any(v.version == wanted for v in history):
            raise OperationNotPermitted(f"Version {wanted} of subject {subject} already exists")
        return wanted
    if wanted != following:
        raise InvalidSchema("Version is not one more than previous version")
    return wanted
