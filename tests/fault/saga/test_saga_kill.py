"""kill -9 of orchestrators and participants at random moments during 500 concurrent sagas.

Two orchestrator processes, a customers process and an inventory process (each with its own
relay thread) run the shop's order saga. While 500 orders are placed and their sagas run, a
random process is killed with SIGKILL at a random moment and started again, over and over.
Afterwards every process runs again, and we count: every saga ended COMPLETED or COMPENSATED,
none is left with a timer, and the business invariants hold (credit reserved equals the totals
of the approved orders, per customer; stock never negative and taken exactly by the approved
orders; every order's status matches its saga's; no effect happened twice).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.saga import harness, shop

SAGAS = 500
KILLS = 10
CUSTOMERS = {f"c{i:02d}": 900 for i in range(20)}  # ~1375 asked per customer: some refused
STOCK = {f"sku{i}": 190 for i in range(5)}  # ~200 asked per sku: some refused
VICTIMS = ("orch-a", "orch-b", "customers", "inventory")
ROLES = {
    "orch-a": "orchestrator",
    "orch-b": "orchestrator",
    "customers": "customers",
    "inventory": "inventory",
}


def orders(rng: random.Random) -> list[Any]:
    return [
        shop.OrderData(
            order_id=f"o{i:04d}",
            customer_id=rng.choice(sorted(CUSTOMERS)),
            sku=rng.choice(sorted(STOCK)),
            qty=rng.randint(1, 3),
            total=rng.randint(10, 100),
        )
        for i in range(SAGAS)
    ]


@pytest.fixture
def env(
    pg_database: str, kafka_bootstrap: str, unique_name: Callable[[str], str], tmp_path: Path
) -> Iterator[Any]:
    prefix = unique_name("chaos")
    topics = harness.make_topics(kafka_bootstrap, prefix)
    shop.create_schema(pg_database, customers_credit=CUSTOMERS, stock=STOCK)
    tuning = shop.Tuning(
        deadline_s=10.0, attempts=5, backoff_s=0.2, backoff_max_s=2.0, compensation_attempts=None
    )
    made = harness.ShopEnv(
        dsn=pg_database, kafka=kafka_bootstrap, prefix=prefix, logs=tmp_path, tuning=tuning
    )
    yield made
    made.stop_all()
    made.shop.close()
    harness.drop_topics(kafka_bootstrap, topics)


def test_kill_9_at_random_moments_during_500_concurrent_sagas(env: Any) -> None:
    rng = random.Random(20261128)
    for name, role in ROLES.items():
        env.start(role, name)
    placed: list[Any] = []
    failures: list[BaseException] = []

    def place_all() -> None:
        try:
            for order in orders(random.Random(7)):
                placed.append(env.shop.place(order))
        except BaseException as error:
            failures.append(error)
            raise

    placing = threading.Thread(target=place_all, daemon=True)
    placing.start()

    def unfinished() -> int:
        return int(
            env.shop.scalar(
                "SELECT count(*) FROM orders.saga_state "
                "WHERE sagastatus NOT IN ('COMPLETED', 'COMPENSATED')"
            )
        )

    kills: Counter[str] = Counter()
    plan = [*VICTIMS, *VICTIMS, *(rng.choice(VICTIMS) for _ in range(KILLS - 2 * len(VICTIMS)))]
    rng.shuffle(plan)  # every process dies at least twice, in a random order
    for victim in plan:
        time.sleep(rng.uniform(0.3, 2.0))
        if not placing.is_alive() and unfinished() == 0:
            break  # everything finished before the kills ran out
        service = env.running(victim)
        assert service is not None
        service.kill()
        kills[victim] += 1
        time.sleep(rng.uniform(0.0, 1.5))
        env.start(ROLES[victim], victim)
    placing.join(120)
    assert not failures
    assert len(placed) == SAGAS
    assert sum(kills.values()) >= 5, f"too few kills happened during the run: {dict(kills)}"
    for name, role in ROLES.items():  # all running again
        if env.running(name) is None:
            env.start(role, name)
    env.wait(lambda: unfinished() == 0, "every saga to finish", timeout=300)
    check_invariants(env)
    ignored = env.shop.scalar("SELECT count(*) FROM orders.saga_step_log WHERE outcome = 'IGNORED'")
    timeouts = env.shop.scalar(
        "SELECT count(*) FROM orders.saga_step_log WHERE outcome = 'TIMED_OUT'"
    )
    print(
        f"kills: {dict(kills)}; statuses: {env.shop.statuses()}; timeouts: {timeouts}; "
        f"ignored replies: {ignored}"
    )


def check_invariants(env: Any) -> None:
    q = env.shop.scalar

    def none(query: str, **params: Any) -> None:
        found = q(f"SELECT count(*) FROM ({query}) AS found", **params)  # noqa: S608 - queries written here
        assert found == 0, f"{found} rows: {query}"

    statuses = env.shop.statuses()
    assert set(statuses) <= {"COMPLETED", "COMPENSATED"}, statuses
    assert sum(statuses.values()) == SAGAS
    assert statuses.get("COMPLETED", 0) > 0
    assert statuses.get("COMPENSATED", 0) > 0  # credit and stock ran out for some
    none(
        "SELECT id FROM orders.saga_state WHERE wake_at IS NOT NULL OR finished_at IS NULL "
        "OR request IS NOT NULL"
    )
    # Every order's status matches its saga's.
    none(
        "SELECT o.id FROM orders.orders o JOIN orders.saga_state s ON s.id = o.saga_id "
        "WHERE (s.sagastatus = 'COMPLETED') <> (o.status = 'APPROVED') "
        "OR (s.sagastatus = 'COMPENSATED') <> (o.status = 'REJECTED')"
    )
    # Credit reserved equals the totals of the approved orders, customer by customer.
    approved = {
        r.customer_id: int(r.total)
        for r in env.shop.rows(
            "SELECT customer_id, sum(total) AS total FROM orders.orders "
            "WHERE status = 'APPROVED' GROUP BY 1"
        )
    }
    reserved = {
        r.id: int(r.reserved) for r in env.shop.rows("SELECT id, reserved FROM customers.customer")
    }
    assert {c: n for c, n in reserved.items() if n} == approved
    # One credit reservation per approved order, none for the others.
    assert q("SELECT count(*) FROM customers.reservation") == statuses["COMPLETED"]
    none(
        "SELECT r.saga_id FROM customers.reservation r "
        "JOIN orders.orders o ON o.saga_id = r.saga_id WHERE o.status <> 'APPROVED'"
    )
    # Stock never negative, and taken exactly by the approved orders.
    assert q("SELECT min(available) FROM inventory.stock") >= 0
    taken = {
        r.sku: int(r.qty)
        for r in env.shop.rows(
            "SELECT sku, sum(qty) AS qty FROM orders.orders WHERE status = 'APPROVED' GROUP BY 1"
        )
    }
    stock = {
        r.sku: int(r.taken)
        for r in env.shop.rows("SELECT sku, initial - available AS taken FROM inventory.stock")
    }
    assert {s: n for s, n in stock.items() if n} == taken
    # No effect twice: each committed action ran once per saga.
    for schema, command in (("customers", "ReserveCredit"), ("inventory", "ReserveStock")):
        none(
            f"SELECT saga_id FROM {schema}.journal WHERE command = :c "  # noqa: S608 - fixed schema names
            "GROUP BY saga_id HAVING count(*) > 1",
            c=command,
        )
    # No step moved a saga twice, and compensations ran in reverse order.
    none(
        "SELECT saga_id FROM orders.saga_step_log WHERE outcome = 'SUCCEEDED' "
        "GROUP BY saga_id, step, phase HAVING count(*) > 1"
    )
    none(
        "SELECT a.saga_id FROM orders.saga_step_log a JOIN orders.saga_step_log b "
        "ON a.saga_id = b.saga_id AND a.seq < b.seq WHERE a.phase = 'compensation' "
        "AND b.phase = 'compensation' AND a.outcome = 'SUCCEEDED' AND b.outcome = 'SUCCEEDED' "
        "AND a.step = 'reserve_credit' AND b.step = 'reserve_stock'"
    )
