"""TableMirror: keep a projection table row-for-row equal to a source table.

Within a batch, events are collapsed to the last state per key (inserts, updates and snapshot
reads become one upsert; a delete wins over what came before it), then written with one
statement per shape. A truncate is a barrier: what came before it is written, then the table is
emptied. Unchanged TOAST columns (:data:`UNAVAILABLE`) are left out of the upsert, so the
projection keeps the value it has.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import itemgetter
from typing import Any, TypeAlias

import orjson
import psycopg
import structlog
from psycopg import sql
from psycopg.rows import dict_row

from eventyard.cdc._binary_copy import fits_binary
from eventyard.cdc._context import ApplyContext
from eventyard.cdc._events import UNAVAILABLE, ChangeEvent, Op, TableEvent, TruncateEvent
from eventyard.cdc._exceptions import ConfigError, DecodeError
from eventyard.cdc._schema import ConnectSchema
from eventyard.cdc._semantic import JSON

__all__ = ["TableMirror", "pg_type"]

_log = structlog.get_logger("eventyard.cdc.mirror")
_REMEMBERED = 10_000  # rows of recent deletes kept to complete key changes
_COPY_FROM = 64  # from this many rows of one shape, COPY into a stage beats executemany

_PG_BY_NAME = {
    "org.apache.kafka.connect.data.Decimal": "numeric",
    "io.debezium.data.VariableScaleDecimal": "numeric",
    "io.debezium.time.Date": "date",
    "org.apache.kafka.connect.data.Date": "date",
    "io.debezium.time.Time": "time",
    "io.debezium.time.MicroTime": "time",
    "io.debezium.time.NanoTime": "time",
    "org.apache.kafka.connect.data.Time": "time",
    "io.debezium.time.Timestamp": "timestamp",
    "io.debezium.time.MicroTimestamp": "timestamp",
    "io.debezium.time.NanoTimestamp": "timestamp",
    "org.apache.kafka.connect.data.Timestamp": "timestamp",
    "io.debezium.time.ZonedTimestamp": "timestamptz",
    "io.debezium.time.ZonedTime": "timetz",
    "io.debezium.time.MicroDuration": "interval",
    JSON: "jsonb",
    "io.debezium.data.Uuid": "uuid",
}
_PG_BY_TYPE = {
    "int8": "smallint",
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "float": "real",
    "float32": "real",
    "double": "double precision",
    "float64": "double precision",
    "boolean": "boolean",
    "string": "text",
    "bytes": "bytea",
    "struct": "jsonb",
    "map": "jsonb",
}


def pg_type(schema: ConnectSchema) -> str:
    """The PostgreSQL type that holds values of a Connect schema (for added columns)."""
    if schema.name in _PG_BY_NAME:
        return _PG_BY_NAME[schema.name]
    if schema.parameters.get("__debezium.source.column.type") in ("NUMERIC", "DECIMAL"):
        return "numeric"
    if schema.type == "array" and schema.items is not None:
        return f"{pg_type(schema.items)}[]"
    return _PG_BY_TYPE.get(schema.type, "text")


_Pending: TypeAlias = tuple[
    tuple[str, ...] | None, tuple[Any, ...] | dict[str, Any] | None, int | None
]
"""A key's last state in a batch: ``(columns, values, lsn)``; ``(None, None, lsn)`` for a delete;
``(None, {column: value}, lsn)`` when some values are unavailable (unchanged TOAST columns,
filled in at the flush)."""

_DELETE = Op.DELETE


@dataclass(frozen=True, slots=True)
class _Shape:
    """Rows of one schema into one target table (see :meth:`TableMirror._shape`)."""

    schema: ConnectSchema
    every: Callable[[Any], tuple[Any, ...]]
    mirrored: Callable[[Any], tuple[Any, ...]] | None
    names: tuple[str, ...]
    json: tuple[int, ...]

    def row(self, after: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The target values of ``after`` when this shape applies to it: exactly the schema's
        columns, no dict outside JSON columns, no unavailable value. Else None."""
        if len(after) != len(self.schema.fields):
            return None
        try:
            row = self.every(after)  # all of the schema's columns: exactly those then
        except KeyError:
            return None
        if self.mirrored is not None:
            row = self.mirrored(row)
        if self.json:
            row = _dumped(row, self.json)
        if UNAVAILABLE in row or dict in map(type, row):
            return None
        return row


@dataclass(frozen=True, slots=True)
class _Stage:
    """The statements that stage rows of some columns for one target table, rendered once."""

    create: bytes
    copy: bytes
    copy_binary: bytes
    oids: tuple[int, ...]
    """The type of each staged column (0: a column the table does not have)."""
    apply: bytes


def _picker(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """``lambda row: tuple(row[k] for k in keys)``, in C."""
    if len(keys) == 1:
        key = keys[0]
        return lambda row: (row[key],)
    return itemgetter(*keys)


def _dumped(row: tuple[Any, ...], json: tuple[int, ...]) -> tuple[Any, ...]:
    values = list(row)
    for index in json:
        value = values[index]
        if value is not None and value is not UNAVAILABLE:
            values[index] = orjson.dumps(value).decode()
    return tuple(values)


def _python_pg_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "bigint"
    if isinstance(value, float):
        return "double precision"
    if isinstance(value, Decimal):
        return "numeric"
    if isinstance(value, dict | list):
        return "jsonb"
    return "text"


class TableMirror:
    """A batch handler keeping projection table ``into`` equal to one source table.

    ``key``: the key columns (the target's primary key or a unique constraint on them).
    ``columns``: None mirrors every column the target has; a list mirrors those; a mapping
    renames ``source -> target``. ``lsn_column``: a ``bigint`` column of the target holding the
    source LSN of each row's last change; with it an event older than the row is skipped, so a
    replay after a connector restart never moves a row back, even for a moment.
    ``add_columns``: columns that appear in the source (``ALTER TABLE ... ADD COLUMN``) are added
    to the target, typed from the event's schema; otherwise they are ignored.
    """

    def __init__(
        self,
        *,
        into: str,
        key: Sequence[str],
        columns: Sequence[str] | Mapping[str, str] | None = None,
        lsn_column: str | None = None,
        add_columns: bool = False,
    ) -> None:
        if not key:
            raise ConfigError(f"mirror into {into!r} needs at least one key column")
        self.into = into
        self.key = tuple(key)
        self.rename: dict[str, str] | None = None
        if isinstance(columns, Mapping):
            self.rename = dict(columns)
        elif columns is not None:
            self.rename = {c: c for c in columns}
        if self.rename is not None:
            missing = [k for k in self.key if k not in self.rename.values()]
            if missing:
                raise ConfigError(f"mirror into {into!r}: key columns {missing} are not mirrored")
        self.source_key = tuple(self._source_name(k) for k in self.key)
        self._single_key = self.source_key[0] if len(self.source_key) == 1 else None
        self.lsn_column = lsn_column
        self.add_columns = add_columns
        self._known: dict[str, set[str]] = {}
        self._json: dict[int, tuple[ConnectSchema, frozenset[str]]] = {}
        self._statements: dict[tuple[str, tuple[str, ...]], sql.Composed] = {}
        self._shapes: dict[tuple[str, int], _Shape] = {}
        self._stages: dict[tuple[str, tuple[str, ...]], _Stage] = {}
        self._staged: set[tuple[int, int, str, tuple[str, ...]]] = set()
        self._deleted: OrderedDict[int, dict[str, Any]] = OrderedDict()
        self._orphans: OrderedDict[int, tuple[tuple[Any, ...], tuple[str, ...]]] = OrderedDict()

    def _source_name(self, target: str) -> str:
        if self.rename is None:
            return target
        for source, mirrored in self.rename.items():
            if mirrored == target:
                return source
        return target

    # -- applying -----------------------------------------------------------------------------

    def __call__(self, ctx: ApplyContext, events: Sequence[TableEvent]) -> None:
        physical = ctx.physical_name(self.into)
        known = self._known_columns(ctx, physical)
        pending: dict[tuple[Any, ...], _Pending] = {}
        key_of = self._key_of
        schema: ConnectSchema | None = None
        shape: _Shape | None = None
        for event in events:
            if isinstance(event, TruncateEvent):
                self._flush(ctx, physical, pending)
                pending.clear()
                ctx.conn.execute(sql.SQL("TRUNCATE {}").format(ctx.table(self.into)))
                continue
            key = key_of(event)
            lsn = event.source.lsn
            if event.op is _DELETE:
                pending[key] = (None, None, lsn)
                continue
            after = event.after
            if after is None:
                raise DecodeError(f"a {event.op.value!r} event without 'after'", field="after")
            if event.columns is not schema or shape is None:
                schema = event.columns
                shape = self._shape_of(physical, known, schema)
            if shape is not None:
                row = shape.row(after)
                if row is not None:
                    pending[key] = (shape.names, row, lsn)
                    continue
                shape = None  # _values may add columns: the shape is looked up again
            values = self._values(ctx, physical, known, event)
            if UNAVAILABLE not in values.values():
                pending[key] = (tuple(values), tuple(values.values()), lsn)
                continue
            prior = pending.get(key)
            if prior is not None and prior[1] is not None:
                earlier = prior[1]
                if not isinstance(earlier, dict):
                    earlier = dict(zip(prior[0] or (), earlier, strict=True))
                for name, value in values.items():
                    if value is UNAVAILABLE and name in earlier:
                        values[name] = earlier[name]  # an earlier event of this batch had it
            pending[key] = (None, values, lsn)
        self._flush(ctx, physical, pending)

    def _shape_of(
        self, physical: str, known: set[str], schema: ConnectSchema | None
    ) -> _Shape | None:
        if schema is None:
            return None
        cache_key = (physical, id(schema))
        shape = self._shapes.get(cache_key)
        if shape is None or shape.schema is not schema:
            shape = self._shape(physical, known, schema)
            if shape is None:
                return None
            self._shapes[cache_key] = shape
        return shape

    def _key_of(self, event: ChangeEvent) -> tuple[Any, ...]:
        row = event.key if event.key else event.row
        try:
            if self._single_key is not None:
                return (row[self._single_key],)
            return tuple(row[name] for name in self.source_key)
        except KeyError:
            row = event.row
            try:
                return tuple(row[name] for name in self.source_key)
            except KeyError as missing:
                raise DecodeError(
                    f"key column {missing} is not in the event (mirror into {self.into!r})"
                ) from None

    def _values(
        self, ctx: ApplyContext, physical: str, known: set[str], event: ChangeEvent
    ) -> dict[str, Any]:
        after = event.after or {}
        json_columns = self._json_columns(event.columns)
        values: dict[str, Any] = {}
        if self.rename is None:
            pairs = after.items()
        else:
            pairs = ((t, after[s]) for s, t in self.rename.items() if s in after)  # type: ignore[assignment]
        for name, value in pairs:
            if name not in known:
                if not self.add_columns or name == self.lsn_column:
                    continue
                self._add_column(ctx, physical, known, name, event=event, value=value)
            if (
                value is not None
                and value is not UNAVAILABLE
                and (name in json_columns or isinstance(value, dict))
            ):
                values[name] = orjson.dumps(value).decode()
            else:
                values[name] = value
        return values

    def _json_columns(self, schema: ConnectSchema | None) -> frozenset[str]:
        if schema is None:
            return frozenset()
        cached = self._json.get(id(schema))
        if cached is not None and cached[0] is schema:
            return cached[1]
        names = frozenset(
            (self.rename or {}).get(f.name, f.name)
            for f in schema.fields
            if f.schema.name == JSON
            # a struct is a JSON document, unless it is a scalar such as VariableScaleDecimal
            or (f.schema.type in ("struct", "map") and f.schema.name not in _PG_BY_NAME)
        )
        self._json[id(schema)] = (schema, names)
        return names

    def _shape(self, physical: str, known: set[str], schema: ConnectSchema) -> _Shape | None:
        """How rows of ``schema`` become upsert rows of ``physical`` without :meth:`_values`:
        the mirrored columns picked in C, JSON columns serialized. None when a row of this
        schema has a column to add (then :meth:`_values` adds it)."""
        fields = schema.field_names
        if not fields:
            return None
        if self.rename is None:
            pairs = [(f, f) for f in fields]
        else:
            pairs = [(s, t) for s, t in self.rename.items() if s in fields]
        picked: list[int] = []
        names: list[str] = []
        for source, target in pairs:
            if target not in known:
                if not self.add_columns or target == self.lsn_column:
                    continue  # ignored, as _values ignores it
                return None
            picked.append(fields.index(source))
            names.append(target)
        if not names:
            return None
        json_columns = self._json_columns(schema)
        return _Shape(
            schema=schema,
            every=_picker(fields),
            mirrored=None if picked == list(range(len(fields))) else _picker(picked),
            names=tuple(names),
            json=tuple(i for i, n in enumerate(names) if n in json_columns),
        )

    def _flush(
        self,
        ctx: ApplyContext,
        physical: str,
        pending: Mapping[tuple[Any, ...], _Pending],
    ) -> None:
        if not pending:
            return
        deletes: list[tuple[tuple[Any, ...], int | None]] = []
        upserts: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        with ctx.conn.cursor(row_factory=dict_row) as cursor:
            for key, (_, row, lsn) in pending.items():
                if row is None:
                    deletes.append((key, lsn))
            if deletes:
                self._delete_rows(ctx, physical, cursor, deletes)
            lsn_column = self.lsn_column
            for key, (names, row, lsn) in pending.items():
                if row is None:
                    continue
                if isinstance(row, dict):
                    names, row = self._completed(key, row, lsn)  # noqa: PLW2901 - completed
                assert names is not None  # a row without its columns is a dict
                if lsn_column:
                    names += (lsn_column,)  # noqa: PLW2901 - with the LSN
                    row += (lsn,)  # noqa: PLW2901 - with the LSN
                group = upserts.get(names)
                if group is None:
                    upserts[names] = [row]
                else:
                    group.append(row)
            self._upsert_rows(ctx, physical, cursor, upserts)

    def _upsert_rows(
        self,
        ctx: ApplyContext,
        physical: str,
        cursor: psycopg.Cursor[dict[str, Any]],
        upserts: Mapping[tuple[str, ...], list[tuple[Any, ...]]],
    ) -> None:
        for names, rows in upserts.items():
            if len(rows) >= _COPY_FROM:
                self._copy_upsert(ctx, physical, names, rows)
            else:
                cursor.executemany(self._upsert(ctx, physical, names), rows)

    def _completed(
        self, key: tuple[Any, ...], values: dict[str, Any], lsn: int | None
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """A row with unavailable values: those a key change's delete had, the others left out."""
        self._fill_from_deleted(key, values, lsn)
        names = tuple(n for n, v in values.items() if v is not UNAVAILABLE)
        return names, tuple(values[n] for n in names)

    def _copy_upsert(
        self,
        ctx: ApplyContext,
        physical: str,
        names: tuple[str, ...],
        rows: list[tuple[Any, ...]],
    ) -> None:
        """Many rows: COPY them into a temporary stage, then one INSERT ... SELECT upsert."""
        conn = ctx.conn
        stage = self._stages.get((physical, names))
        if stage is None:
            stage = self._stage(ctx, physical, names)
            self._stages[(physical, names)] = stage
        session = (id(conn), conn.info.backend_pid, physical, names)
        if session not in self._staged:  # temporary tables live as long as the session
            conn.execute(stage.create)
            self._staged.add(session)
        binary = fits_binary(stage.oids, rows)
        with conn.cursor() as cursor:
            with cursor.copy(stage.copy_binary if binary else stage.copy) as copy:
                if binary:
                    copy.set_types(stage.oids)
                for row in rows:
                    copy.write_row(row)
            cursor.execute(stage.apply)  # the upsert, then emptying the stage: one round trip

    def _stage(self, ctx: ApplyContext, physical: str, names: tuple[str, ...]) -> _Stage:
        stage = sql.Identifier(f"_eventyard_stage_{abs(hash((physical, names))):x}")
        columns = sql.SQL(", ").join(map(sql.Identifier, names))
        conn = ctx.conn
        create = sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS"
            " AS SELECT {} FROM {} WITH NO DATA"
        ).format(stage, columns, ctx.table(self.into))
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(stage, columns)
        copy_binary = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(stage, columns)
        apply = sql.SQL("{}; DELETE FROM {}").format(
            self._upsert(ctx, physical, names, stage=stage), stage
        )
        types = dict(
            conn.execute(
                "SELECT attname, atttypid::int FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                (ctx.table(self.into).as_string(conn),),
            ).fetchall()
        )
        return _Stage(
            create=create.as_bytes(conn),
            copy=copy.as_bytes(conn),
            copy_binary=copy_binary.as_bytes(conn),
            oids=tuple(types.get(name, 0) for name in names),
            apply=apply.as_bytes(conn),
        )

    def _delete_rows(
        self,
        ctx: ApplyContext,
        physical: str,
        cursor: psycopg.Cursor[dict[str, Any]],
        deletes: list[tuple[tuple[Any, ...], int | None]],
    ) -> None:
        params = [(*key, lsn) if self.lsn_column else key for key, lsn in deletes]
        cursor.executemany(self._delete(ctx, physical), params, returning=True)
        index = 0
        while True:
            old = cursor.fetchone()
            lsn = deletes[index][1]
            if old is not None and lsn is not None:
                self._remember_deleted(ctx, old, lsn)
            index += 1
            if not cursor.nextset():
                break

    def _remember_deleted(self, ctx: ApplyContext, old: dict[str, Any], lsn: int) -> None:
        """A key change (``UPDATE ... SET id = ...``) is a delete and a create at the same LSN;
        the create leaves unchanged TOAST columns out, so they are taken from the deleted row."""
        orphan = self._orphans.pop(lsn, None)
        if orphan is not None:  # the create was applied first (another partition, earlier batch)
            new_key, names = orphan
            values = {n: old[n] for n in names if n in old}
            if values:
                ctx.conn.execute(
                    sql.SQL("UPDATE {} SET {} WHERE {}").format(
                        ctx.table(self.into),
                        sql.SQL(", ").join(
                            sql.SQL("{} = %s").format(sql.Identifier(n)) for n in values
                        ),
                        sql.SQL(" AND ").join(
                            sql.SQL("{} = %s").format(sql.Identifier(k)) for k in self.key
                        ),
                    ),
                    (*values.values(), *new_key),
                )
            return
        self._deleted[lsn] = old
        while len(self._deleted) > _REMEMBERED:
            self._deleted.popitem(last=False)

    def _fill_from_deleted(
        self, key: tuple[Any, ...], values: dict[str, Any], lsn: int | None
    ) -> None:
        if lsn is None:
            return
        old = self._deleted.get(lsn)
        missing = [n for n, v in values.items() if v is UNAVAILABLE]
        if old is None:
            self._orphans[lsn] = (key, tuple(missing))
            while len(self._orphans) > _REMEMBERED:
                self._orphans.popitem(last=False)
            return
        for name in missing:
            if name in old:
                values[name] = old[name]

    # -- statements ---------------------------------------------------------------------------

    def _delete(self, ctx: ApplyContext, physical: str) -> sql.Composed:
        cache_key = (physical, ("-delete",))
        statement = self._statements.get(cache_key)
        if statement is None:
            where: sql.Composable = sql.SQL(" AND ").join(
                sql.SQL("{} = %s").format(sql.Identifier(k)) for k in self.key
            )
            if self.lsn_column:
                lsn = sql.Identifier(self.lsn_column)
                where = sql.SQL("{} AND ({} IS NULL OR {} <= %s)").format(where, lsn, lsn)
            statement = sql.SQL("DELETE FROM {} WHERE {} RETURNING *").format(
                ctx.table(self.into), where
            )
            self._statements[cache_key] = statement
        return statement

    def _upsert(
        self,
        ctx: ApplyContext,
        physical: str,
        names: tuple[str, ...],
        *,
        stage: sql.Identifier | None = None,
    ) -> sql.Composed:
        cache_key = (physical, names) if stage is None else (physical, ("-stage", *names))
        statement = self._statements.get(cache_key)
        if statement is not None:
            return statement
        missing = [k for k in self.key if k not in names]
        if missing:
            raise DecodeError(f"key columns {missing} are unavailable in the event")
        target = ctx.table(self.into)
        updates = [n for n in names if n not in self.key]
        conflict = sql.SQL(", ").join(map(sql.Identifier, self.key))
        if updates:
            action: sql.Composable = sql.SQL("DO UPDATE SET {}").format(
                sql.SQL(", ").join(
                    sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(n), sql.Identifier(n))
                    for n in updates
                )
            )
            if self.lsn_column:
                lsn = sql.Identifier(self.lsn_column)
                action = sql.SQL("{} WHERE {}.{} IS NULL OR {}.{} <= EXCLUDED.{}").format(
                    action, target, lsn, target, lsn, lsn
                )
        else:
            action = sql.SQL("DO NOTHING")
        columns = sql.SQL(", ").join(map(sql.Identifier, names))
        if stage is None:
            rows: sql.Composable = sql.SQL("VALUES ({})").format(
                sql.SQL(", ").join(sql.Placeholder() * len(names))
            )
        else:  # WHERE true: INSERT ... SELECT ... ON CONFLICT needs it to parse the action
            rows = sql.SQL("SELECT {} FROM {} WHERE true").format(columns, stage)
        statement = sql.SQL("INSERT INTO {} ({}) {} ON CONFLICT ({}) {}").format(
            target, columns, rows, conflict, action
        )
        self._statements[cache_key] = statement
        return statement

    # -- target columns -----------------------------------------------------------------------

    def _known_columns(self, ctx: ApplyContext, physical: str) -> set[str]:
        known = self._known.get(physical)
        if known is None:
            rows = ctx.conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (ctx.schema, physical),
            ).fetchall()
            if not rows:
                raise ConfigError(f"mirror target {ctx.schema}.{physical} does not exist")
            known = {r[0] for r in rows}
            self._known[physical] = known
        return known

    def reset(self) -> None:
        """Forget cached column lists and statements (after a rollback, a swap or an ALTER)."""
        self._known.clear()
        self._statements.clear()
        self._shapes.clear()
        self._stages.clear()
        self._staged.clear()  # a rollback also undoes the creation of a temporary table

    def _add_column(
        self,
        ctx: ApplyContext,
        physical: str,
        known: set[str],
        name: str,
        *,
        event: ChangeEvent,
        value: Any,
    ) -> None:
        source_name = self._source_name(name)
        field = event.columns.get_field(source_name) if event.columns is not None else None
        kind = pg_type(field) if field is not None else _python_pg_type(value)
        ctx.conn.execute(
            sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                ctx.table(self.into),
                sql.Identifier(name),
                sql.SQL(kind),
            )
        )
        known.add(name)
        self._shapes.clear()
        _log.info("column added", table=f"{ctx.schema}.{physical}", column=name, type=kind)
