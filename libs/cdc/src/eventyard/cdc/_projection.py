"""Projections: the tables a read model owns, and the handlers that apply change events to them.

A :class:`Projection` names its tables (DDL templates with a ``{table}`` placeholder, so a rebuild
can create fresh copies and swap them in) and maps source tables (``schema.table``) to handlers.
Handlers run inside the runner's database transaction, the one that also stores the consumer
offsets; they must only write through ``ctx.conn``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

from psycopg import sql

from eventyard.cdc._context import ApplyContext
from eventyard.cdc._events import TableEvent
from eventyard.cdc._exceptions import ConfigError
from eventyard.cdc._mirror import TableMirror

# ApplyContext lives in _context (below _mirror); it stays importable from here as well.
__all__ = ["ApplyContext", "EventHandler", "Projection", "TableHandler"]


class TableHandler(Protocol):
    """Applies a batch of one source table's events, in order, inside the batch transaction."""

    def __call__(self, ctx: ApplyContext, events: Sequence[TableEvent]) -> None: ...


EventHandler = Callable[[ApplyContext, TableEvent], None]
"""A handler of one event at a time (``@projection.on("public.orders")``)."""


class _PerEvent:
    def __init__(self, handler: EventHandler) -> None:
        self.handler = handler
        self.__name__ = getattr(handler, "__name__", "handler")

    def __call__(self, ctx: ApplyContext, events: Sequence[TableEvent]) -> None:
        for event in events:
            self.handler(ctx, event)


class Projection:
    """A read model: its tables and its handlers per source table.

    ``tables`` maps each table name to its DDL, with ``{table}`` where the (qualified) name goes::

        Projection("shop", tables={"orders": "CREATE TABLE {table} (id bigint PRIMARY KEY, ...)"})

    Handlers of a source table run in registration order for each batch.
    """

    def __init__(self, name: str, *, tables: Mapping[str, str] | None = None) -> None:
        if not name or len(name) > 40:
            raise ConfigError(f"a projection name must have 1 to 40 characters: {name!r}")
        self.name = name
        self.tables: dict[str, str] = dict(tables or {})
        for table, ddl in self.tables.items():
            if "{table}" not in ddl:
                raise ConfigError(f"the DDL of table {table!r} must contain '{{table}}'")
            if len(table) > 50:
                raise ConfigError(f"table name {table!r} is too long (50 characters at most)")
        self._handlers: dict[str, list[TableHandler]] = {}

    def add(self, source_table: str, handler: TableHandler) -> None:
        """Register a batch handler for ``source_table`` (``schema.table``)."""
        if source_table.count(".") != 1:
            raise ConfigError(f"source tables are named 'schema.table', not {source_table!r}")
        self._handlers.setdefault(source_table, []).append(handler)

    def on(self, source_table: str) -> Callable[[EventHandler], EventHandler]:
        """Decorator: ``handler(ctx, event)`` for each event of ``source_table``."""

        def register(handler: EventHandler) -> EventHandler:
            self.add(source_table, _PerEvent(handler))
            return handler

        return register

    def on_batch(self, source_table: str) -> Callable[[TableHandler], TableHandler]:
        """Decorator: ``handler(ctx, events)`` for each batch of ``source_table``'s events."""

        def register(handler: TableHandler) -> TableHandler:
            self.add(source_table, handler)
            return handler

        return register

    def mirror(
        self,
        source_table: str,
        *,
        into: str,
        key: Sequence[str],
        columns: Sequence[str] | Mapping[str, str] | None = None,
        lsn_column: str | None = None,
        add_columns: bool = False,
    ) -> TableMirror:
        """Keep table ``into`` equal to ``source_table`` (see :class:`TableMirror`)."""
        if into not in self.tables:
            raise ConfigError(f"mirror target {into!r} is not one of the projection's tables")
        mirror = TableMirror(
            into=into, key=key, columns=columns, lsn_column=lsn_column, add_columns=add_columns
        )
        self.add(source_table, mirror)
        return mirror

    def handlers(self, source_table: str) -> Sequence[TableHandler]:
        """The handlers of ``source_table`` (empty when the projection ignores it)."""
        return self._handlers.get(source_table, ())

    @property
    def source_tables(self) -> tuple[str, ...]:
        """Every source table with a handler."""
        return tuple(self._handlers)

    def iter_ddl(self, schema: str, names: Mapping[str, str]) -> Iterator[sql.Composed]:
        """``CREATE TABLE`` statements for the physical ``names`` of each table."""
        for table, ddl in self.tables.items():
            yield sql.SQL(ddl).format(table=sql.Identifier(schema, names[table]))
