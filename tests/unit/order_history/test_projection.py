"""The projection's handlers: which source tables they follow, in which order, and which keys
a batch makes them recompute (decoded from Debezium-shaped records)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from psycopg import sql

from eventyard.cdc import ApplyContext, Decoder, TableEvent, TableMirror
from eventyard.cdc.testing import change_record, column, message
from eventyard_order_history.adapters.projection import (
    CUSTOMERS_TABLE,
    ORDERS_TABLE,
    build_projection,
    derive_for_customers,
    derive_for_orders,
)

ORDER_COLUMNS = {
    "id": column("uuid", optional=False),
    "customer_id": column("uuid"),
    "status": column("string"),
    "total": column("int64"),
    "lines": column("json"),
}
CUSTOMER_COLUMNS = {"id": column("uuid", optional=False), "name": column("string")}


class RecordingConnection:
    """Stands in for the batch's connection: records statements and their parameters."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, Any]] = []

    def execute(self, query: sql.Composable, params: Any = None) -> None:
        self.executed.append((query.as_string(None), params))


def _ctx(conn: RecordingConnection) -> ApplyContext:
    names = {"orders": "orders", "customers": "customers", "customer_orders": "customer_orders"}
    return ApplyContext(conn=conn, projection="order-history", schema="oh", _tables=names)  # type: ignore[arg-type]


def _event(table: str, op: str, columns: Any, row: dict[str, Any], offset: int) -> TableEvent:
    key, value = change_record(
        table=table,
        op=op,
        columns=columns,
        before=row if op == "d" else None,
        after=None if op == "d" else row,
        lsn=offset + 1,
    )
    event = Decoder().decode(message(f"shop.{table}", value, key=key, offset=offset))
    assert isinstance(event, TableEvent)
    return event


def _truncate(table: str) -> TableEvent:
    _key, value = change_record(
        table=table, op="c", columns=CUSTOMER_COLUMNS, after={"id": uuid4()}
    )
    payload = value.replace(b'"op":"c"', b'"op":"t"').replace(b'"before":null,', b"")
    event = Decoder().decode(message(f"shop.{table}", payload, key=None, offset=9))
    assert isinstance(event, TableEvent)
    return event


def test_each_source_table_is_mirrored_then_derived() -> None:
    projection = build_projection()
    assert set(projection.tables) == {"orders", "customers", "customer_orders"}
    orders = projection.handlers(ORDERS_TABLE)
    customers = projection.handlers(CUSTOMERS_TABLE)
    assert isinstance(orders[0], TableMirror)
    assert orders[0].lsn_column == "_lsn"
    assert orders[1] is derive_for_orders
    assert isinstance(customers[0], TableMirror)
    assert customers[0].lsn_column == "_lsn"
    assert customers[1] is derive_for_customers
    for ddl in projection.iter_ddl("oh", {t: t for t in projection.tables}):
        assert ddl.as_string(None).startswith("\nCREATE TABLE")


def test_orders_of_a_batch_are_recomputed_by_id_once_each() -> None:
    first, second = uuid4(), uuid4()
    customer = uuid4()
    events = [
        _event(ORDERS_TABLE, "c", ORDER_COLUMNS, {"id": first, "customer_id": customer}, 1),
        _event(ORDERS_TABLE, "u", ORDER_COLUMNS, {"id": first, "status": "APPROVED"}, 2),
        _event(ORDERS_TABLE, "d", ORDER_COLUMNS, {"id": second}, 3),
    ]
    conn = RecordingConnection()
    derive_for_orders(_ctx(conn), events)
    (delete, delete_params), (insert, insert_params) = conn.executed
    assert delete.startswith('DELETE FROM "oh"."customer_orders" WHERE order_id = ANY(')
    assert insert.startswith('INSERT INTO "oh"."customer_orders"')
    assert '"oh"."orders" AS o LEFT JOIN "oh"."customers" AS c' in insert
    assert delete_params == insert_params == {"ids": [str(first), str(second)]}
    assert all(UUID(i) for i in delete_params["ids"])


def test_a_truncate_recomputes_everything() -> None:
    conn = RecordingConnection()
    derive_for_orders(_ctx(conn), [_truncate(ORDERS_TABLE)])
    (delete, params), (insert, _) = conn.executed
    assert delete == 'DELETE FROM "oh"."customer_orders" WHERE true'
    assert insert.endswith("AND true")
    assert params == {"ids": None}


def test_customers_of_a_batch_rename_their_orders() -> None:
    one, two = uuid4(), uuid4()
    events = [
        _event(CUSTOMERS_TABLE, "c", CUSTOMER_COLUMNS, {"id": one, "name": "Ada"}, 1),
        _event(CUSTOMERS_TABLE, "u", CUSTOMER_COLUMNS, {"id": two, "name": "Grace"}, 2),
    ]
    conn = RecordingConnection()
    derive_for_customers(_ctx(conn), events)
    ((update, params),) = conn.executed
    assert update.startswith('UPDATE "oh"."customer_orders" AS co SET customer_name = c.name')
    assert "co.customer_id = ANY(" in update
    assert params == {"ids": [str(one), str(two)]}
