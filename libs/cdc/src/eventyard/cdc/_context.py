"""ApplyContext: what a projection handler gets besides its events.

It sits below both :mod:`eventyard.cdc._projection` and :mod:`eventyard.cdc._mirror` (the
mirror is a handler; a projection registers mirrors), so neither needs to import the other
for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from eventyard.cdc._exceptions import ConfigError

__all__ = ["ApplyContext"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyContext:
    """What a handler gets besides its events.

    ``conn`` is in the batch's transaction. ``table("orders")`` is the physical table to write:
    the live one, or its fresh copy while the projection is being rebuilt (``rebuilding``).
    """

    conn: psycopg.Connection[Any]
    projection: str
    schema: str
    rebuilding: bool = False
    _tables: Mapping[str, str] = field(default_factory=dict, repr=False)

    def table(self, name: str) -> sql.Identifier:
        """The qualified identifier of the projection's table ``name`` (live or rebuild copy)."""
        try:
            return sql.Identifier(self.schema, self._tables[name])
        except KeyError:
            raise ConfigError(
                f"projection {self.projection!r} declares no table {name!r} "
                f"(declared: {', '.join(sorted(self._tables)) or 'none'})"
            ) from None

    def physical_name(self, name: str) -> str:
        """The unqualified physical name behind :meth:`table`."""
        self.table(name)
        return self._tables[name]
