"""A small shop on eventyard.saga, for the integration and fault tests: an order saga driven by
an orchestrator (the orders service) with two participant processes, customers (credit
reservation) and inventory (stock reservation, shipments).

One PostgreSQL database holds three schemas, one per service (``orders``, ``customers``,
``inventory``), each with its own outbox, inbox and saga tables: the services share nothing but
Kafka. Run a service as a process::

    python shop.py orchestrator|customers|inventory --dsn DSN --kafka HOST:PORT --prefix P --name N

Each process runs its own polling relay (a thread) next to its inbox consumer, so ``kill -9``
of a process kills both, as a crash of a real service would.

Saga versions: ``order`` v1 has three steps (reserve_credit, reserve_stock as the pivot, and the
local approve_order); v2 adds schedule_shipment (inventory) as the pivot before approval.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import psycopg
import sqlalchemy as sa
import structlog
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from eventyard.kafka import Retry
from eventyard.outbox import (
    InboxConfig,
    InboxTable,
    KafkaSink,
    Outbox,
    OutboxTable,
    PostgresOutboxStore,
    Relay,
    RelayConfig,
    TopicRouter,
    create_outbox_schema,
    producer_config,
)
from eventyard.saga import (
    Backoff,
    Command,
    CommandEnvelope,
    CommandRejected,
    Local,
    Lock,
    Orchestrator,
    OrchestratorConfig,
    Participant,
    RetryPolicy,
    SagaDefinition,
    SagaTables,
    Step,
    StepRetry,
    create_saga_schema,
)

SERVICES = ("orders", "customers", "inventory")
PARTITIONS = 8


# ------------------------------------------------------------------------------------ tuning


@dataclass(frozen=True, kw_only=True)
class Tuning:
    """Deadlines and retries of the order saga (tests shorten them); JSON in SHOP_TUNING."""

    deadline_s: float = 10.0
    attempts: int = 3
    backoff_s: float = 0.2
    backoff_max_s: float = 2.0
    compensation_attempts: int | None = 5  # None: until it succeeds
    lock_customer: bool = False
    approve_failures: int = 0  # the local approval raises this many times first

    def to_env(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_env(cls) -> Tuning:
        raw = os.environ.get("SHOP_TUNING")
        return cls(**json.loads(raw)) if raw else cls()


# ------------------------------------------------------------------------------------ the saga


class OrderData(BaseModel):
    order_id: str
    customer_id: str
    sku: str
    qty: int
    total: int
    fail_at: str | None = None  # the step whose action a participant refuses (test hook)
    fail_compensation: dict[str, int] = {}  # step -> attempts of its compensation that fail
    reservation_id: str | None = None
    shipment_id: str | None = None


def _credit(d: OrderData) -> dict[str, Any]:
    return {
        "customer_id": d.customer_id,
        "amount": d.total,
        "fail": d.fail_at == "reserve_credit",
        "fail_compensation": d.fail_compensation.get("reserve_credit", 0),
    }


def _stock(d: OrderData) -> dict[str, Any]:
    return {
        "sku": d.sku,
        "qty": d.qty,
        "fail": d.fail_at == "reserve_stock",
        "fail_compensation": d.fail_compensation.get("reserve_stock", 0),
    }


def _shipment(d: OrderData) -> dict[str, Any]:
    return {"order_id": d.order_id, "fail": d.fail_at == "schedule_shipment"}


def _remember_reservation(d: OrderData, reply: Any) -> OrderData:
    return d.model_copy(update={"reservation_id": reply.get("reservation_id")})


def _remember_shipment(d: OrderData, reply: Any) -> OrderData:
    return d.model_copy(update={"shipment_id": reply.get("shipment_id")})


def _approve(tuning: Tuning) -> Callable[[Session, OrderData], OrderData | None]:
    def approve_order(session: Session, data: OrderData) -> OrderData | None:
        if data.fail_at == "approve_order":
            # Counted on a connection of its own: the step's savepoint is undone when it raises.
            engine = session.get_bind()
            assert isinstance(engine, sa.Engine)
            with engine.connect() as side:
                tries = side.execute(
                    sa.text(
                        "INSERT INTO orders.approval_tries AS t (order_id, n) VALUES (:id, 1) "
                        "ON CONFLICT (order_id) DO UPDATE SET n = t.n + 1 RETURNING n"
                    ),
                    {"id": data.order_id},
                ).scalar_one()
                side.commit()
            if tries <= max(tuning.approve_failures, 1):
                raise StepRetry(f"the order book is busy (try {tries})")
        session.execute(
            sa.text("UPDATE orders.orders SET status = 'APPROVED' WHERE id = :id"),
            {"id": data.order_id},
        )
        return None

    return approve_order


def _reject(session: Session, data: OrderData) -> None:
    session.execute(
        sa.text("UPDATE orders.orders SET status = 'REJECTED' WHERE id = :id"),
        {"id": data.order_id},
    )


def definitions(tuning: Tuning | None = None) -> list[SagaDefinition[OrderData]]:
    """``order`` v1 and v2, tuned."""
    t = tuning or Tuning()
    deadline = timedelta(seconds=t.deadline_s)
    backoff = Backoff(
        initial=timedelta(seconds=t.backoff_s), maximum=timedelta(seconds=t.backoff_max_s)
    )
    retry = RetryPolicy(max_attempts=t.attempts, backoff=backoff)
    undo = RetryPolicy(max_attempts=t.compensation_attempts, backoff=backoff)
    lock: Lock[OrderData] | None = (
        Lock(resource=lambda d: f"customer:{d.customer_id}") if t.lock_customer else None
    )
    credit = Step(
        name="reserve_credit",
        action=Command(participant="customers", name="ReserveCredit", payload=_credit),
        compensation=Command(participant="customers", name="ReleaseCredit", payload=_credit),
        retry=retry,
        compensation_retry=undo,
        deadline=deadline,
        on_reply=_remember_reservation,
        lock=lock,
    )
    stock = Step(
        name="reserve_stock",
        action=Command(participant="inventory", name="ReserveStock", payload=_stock),
        compensation=Command(participant="inventory", name="ReleaseStock", payload=_stock),
        retry=retry,
        compensation_retry=undo,
        deadline=deadline,
    )
    approve = Step(
        name="approve_order",
        action=Local(run=_approve(t)),
        retry=RetryPolicy(max_attempts=None, backoff=backoff),
    )
    v1 = SagaDefinition(
        name="order",
        version=1,
        data=OrderData,
        steps=[credit, replace(stock, pivot=True), approve],
        on_compensated=_reject,
    )
    shipment = Step(
        name="schedule_shipment",
        action=Command(participant="inventory", name="ScheduleShipment", payload=_shipment),
        compensation=Command(participant="inventory", name="CancelShipment", payload=_shipment),
        pivot=True,
        retry=retry,
        compensation_retry=undo,
        deadline=deadline,
        on_reply=_remember_shipment,
    )
    v2 = SagaDefinition(
        name="order",
        version=2,
        data=OrderData,
        steps=[credit, stock, shipment, approve],
        on_compensated=_reject,
    )
    return [v1, v2]


# ------------------------------------------------------------------------------------ participants


def _journal(session: Session, schema: str, command: CommandEnvelope) -> None:
    session.execute(
        sa.text(
            f"INSERT INTO {schema}.journal (saga_id, step, phase, command, attempt) "  # noqa: S608 - fixed schema names
            "VALUES (:saga, :step, :phase, :command, :attempt)"
        ),
        {
            "saga": command.saga_id,
            "step": command.step,
            "phase": command.phase.value,
            "command": command.name,
            "attempt": command.attempt,
        },
    )


def customers(outbox: Outbox) -> Participant:
    p = Participant("customers", outbox=outbox, tables=SagaTables(schema="customers"))

    @p.handles("ReserveCredit")
    def reserve(session: Session, command: CommandEnvelope) -> dict[str, Any]:
        body = command.payload
        _journal(session, "customers", command)
        if body.get("fail"):
            raise CommandRejected("credit check refused (test)")
        row = session.execute(
            sa.text(
                "UPDATE customers.customer SET reserved = reserved + :amount "
                "WHERE id = :id AND reserved + :amount <= credit_limit RETURNING id"
            ),
            {"id": body["customer_id"], "amount": body["amount"]},
        ).first()
        if row is None:
            raise CommandRejected(f"customer {body['customer_id']} has not enough credit")
        reservation = uuid.uuid4().hex[:12]
        session.execute(
            sa.text(
                "INSERT INTO customers.reservation (saga_id, customer_id, amount, id) "
                "VALUES (:saga, :customer, :amount, :rid)"
            ),
            {
                "saga": command.saga_id,
                "customer": body["customer_id"],
                "amount": body["amount"],
                "rid": reservation,
            },
        )
        return {"reservation_id": reservation}

    @p.handles("ReleaseCredit")
    def release(session: Session, command: CommandEnvelope) -> None:
        _journal(session, "customers", command)
        if command.attempt <= int(command.payload.get("fail_compensation", 0)):
            raise CommandRejected(f"the ledger is locked (test, attempt {command.attempt})")
        row = session.execute(
            sa.text(
                "DELETE FROM customers.reservation WHERE saga_id = :saga "
                "RETURNING customer_id, amount"
            ),
            {"saga": command.saga_id},
        ).first()
        if row is not None:
            session.execute(
                sa.text(
                    "UPDATE customers.customer SET reserved = reserved - :amount WHERE id = :id"
                ),
                {"id": row.customer_id, "amount": row.amount},
            )

    return p


def inventory(outbox: Outbox) -> Participant:
    p = Participant("inventory", outbox=outbox, tables=SagaTables(schema="inventory"))

    @p.handles("ReserveStock")
    def reserve(session: Session, command: CommandEnvelope) -> None:
        body = command.payload
        _journal(session, "inventory", command)
        if body.get("fail"):
            raise CommandRejected("stock check refused (test)")
        row = session.execute(
            sa.text(
                "UPDATE inventory.stock SET available = available - :qty "
                "WHERE sku = :sku AND available >= :qty RETURNING sku"
            ),
            {"sku": body["sku"], "qty": body["qty"]},
        ).first()
        if row is None:
            raise CommandRejected(f"{body['sku']} is out of stock")
        session.execute(
            sa.text(
                "INSERT INTO inventory.reservation (saga_id, sku, qty) VALUES (:saga, :sku, :qty)"
            ),
            {"saga": command.saga_id, "sku": body["sku"], "qty": body["qty"]},
        )

    @p.handles("ReleaseStock")
    def release(session: Session, command: CommandEnvelope) -> None:
        _journal(session, "inventory", command)
        if command.attempt <= int(command.payload.get("fail_compensation", 0)):
            raise CommandRejected(f"the warehouse is closed (test, attempt {command.attempt})")
        row = session.execute(
            sa.text("DELETE FROM inventory.reservation WHERE saga_id = :saga RETURNING sku, qty"),
            {"saga": command.saga_id},
        ).first()
        if row is not None:
            session.execute(
                sa.text("UPDATE inventory.stock SET available = available + :qty WHERE sku = :sku"),
                {"sku": row.sku, "qty": row.qty},
            )

    @p.handles("ScheduleShipment")
    def ship(session: Session, command: CommandEnvelope) -> dict[str, Any]:
        _journal(session, "inventory", command)
        if command.payload.get("fail"):
            raise CommandRejected("no carrier available (test)")
        shipment = uuid.uuid4().hex[:12]
        session.execute(
            sa.text("INSERT INTO inventory.shipment (saga_id, id) VALUES (:saga, :id)"),
            {"saga": command.saga_id, "id": shipment},
        )
        return {"shipment_id": shipment}

    @p.handles("CancelShipment")
    def cancel(session: Session, command: CommandEnvelope) -> None:
        _journal(session, "inventory", command)
        session.execute(
            sa.text("DELETE FROM inventory.shipment WHERE saga_id = :saga"),
            {"saga": command.saga_id},
        )

    return p


# ------------------------------------------------------------------------------------ wiring


def sa_url(dsn: str) -> sa.URL:
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return sa.URL.create(
        "postgresql+psycopg",
        username=str(info.get("user") or "postgres"),
        password=str(info["password"]) if info.get("password") else None,
        host=str(info.get("host") or "127.0.0.1"),
        port=int(str(info.get("port") or 5432)),
        database=str(info.get("dbname") or "postgres"),
    )


def router(prefix: str) -> TopicRouter:
    return TopicRouter(template=prefix + ".{aggregatetype}")


def topics(prefix: str) -> list[str]:
    """The topics the shop uses (commands of both participants, replies)."""
    r = router(prefix)
    return [r.topic(c) for c in ("customers.commands", "inventory.commands", "saga.replies")]


def outbox_table(service: str) -> OutboxTable:
    return OutboxTable(schema=service, partitions=PARTITIONS)


def create_schema(dsn: str, *, customers_credit: dict[str, int], stock: dict[str, int]) -> None:
    """Every service's schema, tables and starting data (credit limits, stock)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for service in SERVICES:
            create_outbox_schema(
                conn, outbox=outbox_table(service), inbox=InboxTable(schema=service)
            )
        create_saga_schema(conn, tables=SagaTables(schema="orders"))
        for service in ("customers", "inventory"):
            create_saga_schema(
                conn, tables=SagaTables(schema=service), orchestrator=False, participant=True
            )
        statements = [
            "CREATE TABLE orders.orders (id text PRIMARY KEY, customer_id text NOT NULL, "
            "sku text NOT NULL, qty int NOT NULL, total int NOT NULL, status text NOT NULL, "
            "saga_id uuid NOT NULL)",
            "CREATE TABLE orders.approval_tries (order_id text PRIMARY KEY, n int NOT NULL)",
            "CREATE TABLE customers.customer (id text PRIMARY KEY, credit_limit int NOT NULL, "
            "reserved int NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= credit_limit))",
            "CREATE TABLE customers.reservation (saga_id uuid PRIMARY KEY, id text NOT NULL, "
            "customer_id text NOT NULL, amount int NOT NULL)",
            "CREATE TABLE inventory.stock (sku text PRIMARY KEY, initial int NOT NULL, "
            "available int NOT NULL CHECK (available >= 0))",
            "CREATE TABLE inventory.reservation (saga_id uuid PRIMARY KEY, sku text NOT NULL, "
            "qty int NOT NULL)",
            "CREATE TABLE inventory.shipment (saga_id uuid PRIMARY KEY, id text NOT NULL)",
        ]
        for schema in ("customers", "inventory"):
            statements.append(
                f"CREATE TABLE {schema}.journal (seq bigserial PRIMARY KEY, saga_id uuid, "
                "step text, phase text, command text, attempt int, "
                "at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
        for statement in statements:
            conn.execute(statement.encode())
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO customers.customer (id, credit_limit) VALUES (%s, %s)",
                list(customers_credit.items()),
            )
            cur.executemany(
                "INSERT INTO inventory.stock (sku, initial, available) VALUES (%s, %s, %s)",
                [(sku, n, n) for sku, n in stock.items()],
            )


@dataclass
class Shop:
    """The orders side as the test process sees it: place orders (start sagas), read state."""

    dsn: str
    prefix: str
    tuning: Tuning = field(default_factory=Tuning)

    def __post_init__(self) -> None:
        self.engine = sa.create_engine(sa_url(self.dsn), pool_size=4)
        self.sessions = sessionmaker(self.engine)
        self.definitions = definitions(self.tuning)
        self.orchestrator = Orchestrator(
            definitions=self.definitions,
            sessions=self.sessions,
            outbox=Outbox(table=outbox_table("orders"), router=router(self.prefix)),
            config=OrchestratorConfig(
                name="test-process",
                tables=SagaTables(schema="orders"),
                inbox_table=InboxTable(schema="orders"),
            ),
        )

    def definition(self, version: int = 1) -> SagaDefinition[OrderData]:
        return self.definitions[version - 1]

    def place(self, order: OrderData, *, version: int = 1, run_now: bool = True) -> uuid.UUID:
        """Insert the order and start its saga in one transaction."""
        with self.sessions() as session, session.begin():
            saga_id = uuid.uuid4()
            session.execute(
                sa.text(
                    "INSERT INTO orders.orders (id, customer_id, sku, qty, total, status, saga_id) "
                    "VALUES (:id, :c, :sku, :qty, :total, 'PENDING', :saga)"
                ),
                {
                    "id": order.order_id,
                    "c": order.customer_id,
                    "sku": order.sku,
                    "qty": order.qty,
                    "total": order.total,
                    "saga": saga_id,
                },
            )
            self.orchestrator.start(
                session, self.definition(version), order, saga_id=saga_id, run_now=run_now
            )
        return saga_id

    def scalar(self, query: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(query), params).scalar()

    def rows(self, query: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(query), params).all())

    def statuses(self) -> dict[str, int]:
        return {
            r.sagastatus: int(r.n)
            for r in self.rows("SELECT sagastatus, count(*) AS n FROM orders.saga_state GROUP BY 1")
        }

    def close(self) -> None:
        self.engine.dispose()


# ------------------------------------------------------------------------------------ processes


def _kafka(bootstrap: str, group: str, name: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.instance.id": f"{group}.{name}",
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "auto.commit.interval.ms": 200,
        "fetch.wait.max.ms": 20,
        "topic.metadata.refresh.interval.ms": 2000,
    }


def _relay(dsn: str, bootstrap: str, service: str, prefix: str, name: str) -> Relay:
    return Relay(
        store=PostgresOutboxStore(dsn, table=outbox_table(service)),
        sink=lambda: KafkaSink(producer_config(bootstrap, client_id=f"{name}-relay")),
        config=RelayConfig(
            name=f"{name}-relay",
            router=router(prefix),
            poll_interval=0.5,
            rebalance_interval=0.5,
            shutdown_grace=2.0,
        ),
    )


def serve(role: str, *, dsn: str, bootstrap: str, prefix: str, name: str) -> None:
    """Run one service until SIGTERM: its relay in a thread, its consumer in this one."""
    logging.basicConfig(level=logging.WARNING)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )
    service = "orders" if role == "orchestrator" else role
    engine = sa.create_engine(sa_url(dsn), pool_size=4)
    sessions = sessionmaker(engine)
    outbox = Outbox(table=outbox_table(service), router=router(prefix))
    relay = _relay(dsn, bootstrap, service, prefix, name)
    relay_thread = threading.Thread(target=relay.run, name="relay", daemon=True)
    relay_thread.start()
    kafka = _kafka(bootstrap, f"{prefix}.{service}", name)
    stop: Callable[[], None]
    if role == "orchestrator":
        orchestrator = Orchestrator(
            definitions=definitions(Tuning.from_env()),
            sessions=sessions,
            outbox=outbox,
            config=OrchestratorConfig(
                name=name,
                tables=SagaTables(schema="orders"),
                inbox_table=InboxTable(schema="orders"),
                timer_interval=0.1,
            ),
        )
        inbox = InboxConfig(
            name="saga:replies",
            topics=(orchestrator.reply_topic,),
            table=InboxTable(schema="orders"),
            retry=Retry(attempts=10, wait_initial=0.05, wait_max=10.0, wait_jitter=0.0),
            batch_size=200,
            poll_timeout=0.02,
        )
        run: Callable[[], None] = lambda: orchestrator.run(kafka, inbox=inbox)  # noqa: E731 - a one-line adapter
        stop = orchestrator.stop
    else:
        participant = (customers if role == "customers" else inventory)(outbox)
        consumer = participant.consumer(
            kafka,
            sessions=sessions,
            inbox=InboxConfig(
                name=f"saga:{role}",
                topics=(participant.topic,),
                table=InboxTable(schema=role),
                retry=Retry(attempts=5, wait_initial=0.05, wait_max=10.0, wait_jitter=0.0),
                batch_size=200,
                poll_timeout=0.02,
            ),
        )
        run = consumer.run
        stop = consumer.stop
    signal.signal(signal.SIGTERM, lambda *_: stop())
    print(f"{name}: ready", file=sys.stderr, flush=True)
    try:
        run()
    finally:
        relay.stop()
        relay_thread.join(10)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=("orchestrator", "customers", "inventory"))
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--name", required=True)
    args = parser.parse_args()
    serve(args.role, dsn=args.dsn, bootstrap=args.kafka, prefix=args.prefix, name=args.name)


if __name__ == "__main__":
    main()
