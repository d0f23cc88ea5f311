"""Soft and permanent deletion of subjects and versions, with Confluent's rules."""

from __future__ import annotations

import structlog

from eventyard_schema_registry.domain.errors import (
    ReferenceExists,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
    VersionNotSoftDeleted,
    VersionSoftDeleted,
)
from eventyard_schema_registry.domain.model import LATEST, SubjectVersion, parse_version
from eventyard_schema_registry.service_layer.policies import Policies
from eventyard_schema_registry.service_layer.ports import Store

__all__ = ["Deletions"]

log = structlog.get_logger("eventyard_schema_registry.deletions")


class Deletions:
    """A soft delete hides versions (ids stay readable); a permanent one removes them.

    A permanent delete needs a soft delete first; a version that another subject's schema
    references cannot go (42206); READONLY (from ``policies``) refuses both.
    """

    def __init__(self, store: Store, *, policies: Policies) -> None:
        self.store = store
        self.policies = policies

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Soft-delete every live version, or (``permanent``) remove soft-deleted ones."""
        with self.store.session(lock=subject) as session:
            self.policies.check_writable(session, subject)
            history = session.versions(subject)
            if not history:
                raise SubjectNotFound(subject)
            live = [v for v in history if not v.deleted]
            if not permanent and not live:
                raise SubjectSoftDeleted(subject)
            if permanent and live:
                raise SubjectNotSoftDeleted(subject)
            targets = [v.version for v in (history if permanent else live)]
            for number in targets:
                referrers = session.referrers(subject, number)
                if any(r.subject != subject and (permanent or not r.deleted) for r in referrers):
                    raise ReferenceExists(subject, number)
            if permanent:
                session.remove_versions(subject, targets)
                session.set_level(subject, None)
                session.set_mode(subject, None)
            else:
                session.mark_deleted(subject, targets)
        log.info("subject deleted", subject=subject, versions=targets, permanent=permanent)
        return targets

    def delete_version(self, subject: str, version: str, *, permanent: bool = False) -> int:
        """Soft-delete one version, or (``permanent``) remove a soft-deleted one."""
        number = parse_version(version)
        with self.store.session(lock=subject) as session:
            self.policies.check_writable(session, subject)
            history = session.versions(subject)
            if not history:
                raise SubjectNotFound(subject)
            target = _deletion_target(history, number, permanent=permanent)
            if not permanent and target.deleted:
                raise VersionSoftDeleted(subject, target.version)
            if permanent and not target.deleted:
                raise VersionNotSoftDeleted(subject, target.version)
            referrers = session.referrers(subject, target.version)
            if any(permanent or not r.deleted for r in referrers):
                raise ReferenceExists(subject, target.version)
            if permanent:
                session.remove_versions(subject, [target.version])
                if len(history) == 1:
                    session.set_level(subject, None)
                    session.set_mode(subject, None)
            else:
                session.mark_deleted(subject, [target.version])
        log.info("version deleted", subject=subject, version=target.version, permanent=permanent)
        return target.version


def _deletion_target(
    history: list[SubjectVersion], number: int, *, permanent: bool
) -> SubjectVersion:
    """The version ``number`` means; ``latest`` is the last live one for a soft delete."""
    if number != LATEST:
        return _find(history, number)
    live = [v for v in history if not v.deleted]
    return history[-1] if permanent or not live else live[-1]


def _find(history: list[SubjectVersion], number: int) -> SubjectVersion:
    found = next((v for v in history if v.version == number), None)
    if found is None:
        raise VersionNotFound(number)
    return found
