"""The read model, fed by the service's own connectors and projection, equals the source
tables after inserts, updates and deletes, and ``customer_orders`` equals their join."""

# ruff: noqa: S608 - SQL from this module's own column lists

from __future__ import annotations

import uuid
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from eventyard.cdc import ProjectionRunner, RunnerConfig
from eventyard.kafka.connect import ConnectClient
from eventyard.service import ensure_topics
from eventyard_order_history.adapters.debezium import connector_config
from eventyard_order_history.adapters.projection import build_projection
from eventyard_order_history.adapters.sources import source_problem
from eventyard_order_history.service_layer.connectors import ConnectorKeeper
from tests.integration.order_history.shop import Shop
from tests.support.eventually import eventually

ORDER_COLUMNS = (
    "id, customer_id, status, reason, total, lines, created_at, updated_at, traceparent, trace_id"
)
CUSTOMER_COLUMNS = "id, name, credit_limit, credit_reserved"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _keeper(shop: Shop, connect_url: str, kafka_bootstrap: str) -> ConnectorKeeper:
    return ConnectorKeeper(
        client=ConnectClient(connect_url),
        specs=shop.specs,
        configs={s.name: connector_config(s, shop.pg_dsn) for s in shop.specs},
        source_problem=lambda spec: source_problem(shop.pg_dsn, spec),
        prepare=lambda: ensure_topics(kafka_bootstrap, [s.topic for s in shop.specs], partitions=1),
    )


def _register(keeper: ConnectorKeeper) -> None:
    def states() -> dict[str, str]:
        keeper.check_once()
        return keeper.states()

    eventually(
        states,
        until=lambda s: set(s.values()) == {"running"},
        timeout=120,
        interval=0.5,
        description="the connectors running",
    )


def _expected(shop: Shop) -> dict[str, list[tuple[Any, ...]]]:
    orders = shop.rows(shop.orders_db, f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY id")
    customers = shop.rows(
        shop.customers_db, f"SELECT {CUSTOMER_COLUMNS} FROM customers ORDER BY id"
    )
    names = {c[0]: c[1] for c in customers}
    joined = sorted(
        (o[0], o[1], names.get(o[1]), o[2], o[4], o[6]) for o in orders
    )  # order_id, customer_id, customer_name, status, total, created_at
    return {"orders": orders, "customers": customers, "customer_orders": joined}


def _read_model(shop: Shop) -> dict[str, list[tuple[Any, ...]]]:
    db = shop.target_db
    return {
        "orders": shop.rows(db, f"SELECT {ORDER_COLUMNS} FROM order_history.orders ORDER BY id"),
        "customers": shop.rows(
            db, f"SELECT {CUSTOMER_COLUMNS} FROM order_history.customers ORDER BY id"
        ),
        "customer_orders": shop.rows(
            db,
            "SELECT order_id, customer_id, customer_name, status, total, created_at"
            " FROM order_history.customer_orders ORDER BY order_id",
        ),
    }


def _converge(runner: ProjectionRunner, shop: Shop) -> None:
    def read_model() -> dict[str, list[tuple[Any, ...]]] | None:
        """The read model once the runner has caught up (a poll applied nothing), else None."""
        return _read_model(shop) if runner.poll_once() == 0 else None

    eventually(
        read_model,
        until=lambda got: got == _expected(shop),
        timeout=90,
        interval=0,
        description="the read model to converge",
    )


def _order(shop: Shop, customer: uuid.UUID, status: str, total: int | None) -> uuid.UUID:
    order_id = uuid.uuid4()
    shop.sql(
        shop.orders_db,
        "INSERT INTO orders (id, customer_id, status, total, lines, traceparent)"
        " VALUES (%s, %s, %s, %s, %s::jsonb, %s)",
        (order_id, customer, status, total, '[{"sku": "mug", "quantity": 2}]', TRACEPARENT),
    )
    return order_id


def test_read_model_equals_the_sources(shop: Shop, connect_url: str, kafka_bootstrap: str) -> None:
    shop.create_sources()
    ada, grace, nobody = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    shop.sql(
        shop.customers_db,
        "INSERT INTO customers (id, name, credit_limit) VALUES (%s, 'Ada', 10000),"
        " (%s, 'Grace', 500)",
        (ada, grace),
    )
    first = _order(shop, ada, "PENDING", None)  # snapshotted
    keeper = _keeper(shop, connect_url, kafka_bootstrap)
    _register(keeper)

    config = RunnerConfig(
        bootstrap_servers=kafka_bootstrap,
        dsn=shop.dsn(shop.target_db),
        group_id=shop.prefix,
        topics=tuple(s.topic for s in shop.specs),
        schema="order_history",
        trace_context_column="traceparent",
    )
    shop.create_database(shop.target_db)  # as the service's boot does
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with ProjectionRunner(build_projection(), config, tracer_provider=provider) as runner:
        second = _order(shop, grace, "PENDING", None)
        orphan = _order(shop, nobody, "PENDING", 300)  # its customer never arrives
        shop.sql(
            shop.orders_db,
            "UPDATE orders SET status = 'APPROVED', total = 1200, updated_at = now() WHERE id = %s",
            (first,),
        )
        shop.sql(
            shop.orders_db,
            "UPDATE orders SET status = 'REJECTED', reason = 'INSUFFICIENT_CREDIT', total = 900"
            " WHERE id = %s",
            (second,),
        )
        _converge(runner, shop)

        # a customer renamed, another created after its orders, an order deleted
        late = uuid.uuid4()
        third = _order(shop, late, "PENDING", 50)
        shop.sql(shop.customers_db, "UPDATE customers SET name = 'Ada L.' WHERE id = %s", (ada,))
        shop.sql(
            shop.customers_db,
            "INSERT INTO customers (id, name, credit_limit) VALUES (%s, 'Late', 10)",
            (late,),
        )
        shop.sql(shop.orders_db, "DELETE FROM orders WHERE id = %s", (second,))
        _converge(runner, shop)

    got = {row[0]: row for row in _read_model(shop)["customer_orders"]}
    assert got[first][2:5] == ("Ada L.", "APPROVED", 1200)
    assert got[third][2] == "Late"
    assert got[orphan][2] is None
    assert second not in got

    # each order change was applied in a child of the writer's context: it joins that trace
    writer_trace, writer_span = (int(part, 16) for part in TRACEPARENT.split("-")[1:3])
    children = [
        span
        for span in exporter.get_finished_spans()
        if span.parent is not None and span.parent.span_id == writer_span
    ]
    assert len(children) >= 5  # the snapshot, 3 inserts, 2 updates (a delete may carry none)
    assert {span.context.trace_id for span in children} == {writer_trace}
