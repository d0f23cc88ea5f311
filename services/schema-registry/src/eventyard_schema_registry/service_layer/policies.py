"""Compatibility levels and modes, per subject and global, with Confluent's fallbacks."""

from __future__ import annotations

from eventyard.schemas import CompatibilityLevel
from eventyard_schema_registry.domain.errors import (
    OperationNotPermitted,
    SubjectConfigNotSet,
    SubjectModeNotSet,
    SubjectNotFound,
)
from eventyard_schema_registry.domain.model import Mode, parse_level, parse_mode
from eventyard_schema_registry.service_layer.ports import Store, StoreSession

__all__ = ["Policies"]


class Policies:
    """Reads and changes levels and modes; ``subject=None`` is the global setting.

    A subject without its own setting follows the global one; the global level defaults to
    ``default_level`` and the global mode to READWRITE.
    """

    def __init__(self, store: Store, *, default_level: CompatibilityLevel) -> None:
        self.store = store
        self.default_level = default_level

    def level(self, subject: str | None = None, *, default_to_global: bool = False) -> str:
        """The level set for ``subject`` (or in scope, with ``default_to_global``)."""
        with self.store.session() as session:
            if subject is None or default_to_global:
                return self._level_in_scope(session, subject).value
            level = session.level(subject)
        if level is None:
            raise SubjectConfigNotSet(subject)
        return level.value

    def set_level(self, subject: str | None, level: object) -> str:
        """Set a level by name (42203 for an unknown one); returns its name."""
        chosen = parse_level(level)
        with self.store.session() as session:
            session.set_level(subject, chosen)
        return chosen.value

    def delete_level(self, subject: str | None) -> str:
        """Remove a level; the subject then follows the global one. Returns the old level."""
        with self.store.session() as session:
            old = session.level(subject)
            if subject is None:
                session.set_level(None, None)
                return (old or self.default_level).value
            if old is None:
                raise SubjectNotFound(subject)
            session.set_level(subject, None)
            return old.value

    def mode(self, subject: str | None = None, *, default_to_global: bool = False) -> str:
        """The mode set for ``subject`` (or in scope, with ``default_to_global``)."""
        with self.store.session() as session:
            if subject is None or default_to_global:
                return self._mode_in_scope(session, subject).value
            mode = session.mode(subject)
        if mode is None:
            raise SubjectModeNotSet(subject)
        return mode.value

    def set_mode(self, subject: str | None, mode: object, *, force: bool = False) -> str:
        """Set a mode by name (42204 for an unknown one).

        IMPORT needs an empty scope (no live subject), unless ``force``.
        """
        chosen = parse_mode(mode)
        with self.store.session(lock=subject) as session:
            entering = self._mode_in_scope(session, subject) is not Mode.IMPORT
            if chosen is Mode.IMPORT and entering and not force and _has_live(session, subject):
                raise OperationNotPermitted("Cannot import since found existing subjects")
            session.set_mode(subject, chosen)
        return chosen.value

    def delete_mode(self, subject: str | None) -> str:
        """Remove a mode; the subject then follows the global one. Returns the old mode."""
        with self.store.session() as session:
            old = session.mode(subject)
            if subject is not None and old is None:
                raise SubjectNotFound(subject)
            session.set_mode(subject, None)
        return (old or Mode.READWRITE).value

    def _level_in_scope(self, session: StoreSession, subject: str | None) -> CompatibilityLevel:
        own = session.level(subject) if subject is not None else None
        return own or session.level(None) or self.default_level

    def _mode_in_scope(self, session: StoreSession, subject: str | None) -> Mode:
        own = session.mode(subject) if subject is not None else None
        return own or session.mode(None) or Mode.READWRITE


def _has_live(session: StoreSession, subject: str | None) -> bool:
    if subject is None:
        return bool(session.subjects(deleted=False, deleted_only=False, prefix=""))
    return any(not v.deleted for v in session.versions(subject))
