"""Compatibility levels and modes, per subject and global, with Confluent's fallbacks."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from eventyard.schemas import CompatibilityLevel
from eventyard_schema_registry.domain.errors import (
    NotFound,
    OperationNotPermitted,
    SubjectConfigNotSet,
    SubjectModeNotSet,
    SubjectNotFound,
)
from eventyard_schema_registry.domain.model import Mode, parse_level, parse_mode
from eventyard_schema_registry.service_layer.ports import Store, StoreSession

__all__ = ["Policies"]

V = TypeVar("V", bound=enum.Enum)


@dataclass(frozen=True, kw_only=True, slots=True)
class _Setting(Generic[V]):
    """A value set globally and per subject (a level, a mode), and how a subject falls back."""

    read: Callable[[StoreSession, str | None], V | None]
    write: Callable[[StoreSession, str | None, V | None], None]
    default: V
    not_set: Callable[[str], NotFound]

    def in_scope(self, session: StoreSession, subject: str | None) -> V:
        """The subject's own value, else the global one, else the default."""
        own = self.read(session, subject) if subject is not None else None
        if own is not None:
            return own
        shared = self.read(session, None)
        return self.default if shared is None else shared


class Policies:
    """Reads and changes levels and modes; ``subject=None`` is the global setting.

    A subject without its own setting follows the global one; the global level defaults to
    ``default_level`` and the global mode to READWRITE.
    """

    def __init__(self, store: Store, *, default_level: CompatibilityLevel) -> None:
        self.store = store
        self.default_level = default_level
        self._levels: _Setting[CompatibilityLevel] = _Setting(
            read=lambda session, subject: session.level(subject),
            write=lambda session, subject, level: session.set_level(subject, level),
            default=default_level,
            not_set=SubjectConfigNotSet,
        )
        self._modes: _Setting[Mode] = _Setting(
            read=lambda session, subject: session.mode(subject),
            write=lambda session, subject, mode: session.set_mode(subject, mode),
            default=Mode.READWRITE,
            not_set=SubjectModeNotSet,
        )

    # -- compatibility levels ------------------------------------------------------------------

    def level(self, subject: str | None = None, *, default_to_global: bool = False) -> str:
        """The level set for ``subject`` (or in scope, with ``default_to_global``)."""
        return self._get(self._levels, subject, default_to_global=default_to_global).value

    def set_level(self, subject: str | None, level: object) -> str:
        """Set a level by name (42203 for an unknown one); returns its name."""
        chosen = parse_level(level)
        with self.store.session() as session:
            session.set_level(subject, chosen)
        return chosen.value

    def delete_level(self, subject: str | None) -> str:
        """Remove a level; the subject then follows the global one. Returns the old level."""
        return self._delete(self._levels, subject).value

    def level_in_scope(self, session: StoreSession, subject: str | None) -> CompatibilityLevel:
        """The level that applies to ``subject`` now, inside ``session``."""
        return self._levels.in_scope(session, subject)

    # -- modes ---------------------------------------------------------------------------------

    def mode(self, subject: str | None = None, *, default_to_global: bool = False) -> str:
        """The mode set for ``subject`` (or in scope, with ``default_to_global``)."""
        return self._get(self._modes, subject, default_to_global=default_to_global).value

    def set_mode(self, subject: str | None, mode: object, *, force: bool = False) -> str:
        """Set a mode by name (42204 for an unknown one).

        IMPORT needs an empty scope (no live subject), unless ``force``.
        """
        chosen = parse_mode(mode)
        with self.store.session(lock=subject) as session:
            entering = self.mode_in_scope(session, subject) is not Mode.IMPORT
            if chosen is Mode.IMPORT and entering and not force and _has_live(session, subject):
                raise OperationNotPermitted("Cannot import since found existing subjects")
            session.set_mode(subject, chosen)
        return chosen.value

    def delete_mode(self, subject: str | None) -> str:
        """Remove a mode; the subject then follows the global one. Returns the old mode."""
        return self._delete(self._modes, subject).value

    def mode_in_scope(self, session: StoreSession, subject: str | None) -> Mode:
        """The mode that applies to ``subject`` now, inside ``session``."""
        return self._modes.in_scope(session, subject)

    def check_writable(self, session: StoreSession, subject: str) -> None:
        """42205 when ``subject`` is read-only (its own mode or the global one)."""
        if self.mode_in_scope(session, subject) is Mode.READONLY:
            raise OperationNotPermitted(f"Subject {subject} is in read-only mode")

    # -- the shapes levels and modes share -----------------------------------------------------

    def _get(self, setting: _Setting[V], subject: str | None, *, default_to_global: bool) -> V:
        with self.store.session() as session:
            if subject is None or default_to_global:
                return setting.in_scope(session, subject)
            own = setting.read(session, subject)
        if own is None:
            raise setting.not_set(subject)
        return own

    def _delete(self, setting: _Setting[V], subject: str | None) -> V:
        with self.store.session() as session:
            old = setting.read(session, subject)
            if subject is not None and old is None:
                raise SubjectNotFound(subject)
            setting.write(session, subject, None)
        return setting.default if old is None else old


def _has_live(session: StoreSession, subject: str | None) -> bool:
    if subject is None:
        return bool(session.subjects(deleted=False, deleted_only=False, prefix=""))
    return any(not v.deleted for v in session.versions(subject))
