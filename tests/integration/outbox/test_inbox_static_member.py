"""An inbox consumer that is a static group member (``group.instance.id``) is restarted after
one of its topics was created by its first message: the restarted member gets the group's old
assignment back, without that topic, and rejoins so that the topic's messages are handled."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from confluent_kafka.admin import AdminClient
from sqlalchemy.orm import Session

from eventyard.outbox import (
    Event,
    InboundMessage,
    InboxConfig,
    InboxConsumer,
    InboxStats,
    Outbox,
    TopicRouter,
)
from tests.support.eventually import eventually


def _record(session: Session, message: InboundMessage) -> None:
    session.execute(
        sa.text("INSERT INTO handled (topic, n) VALUES (:topic, :n)"),
        {"topic": message.topic, "n": message.json()["n"]},
    )


def _publish(db: Any, router: TopicRouter, aggregate_type: str, n: int) -> None:
    outbox = Outbox(table=db.table, router=router)
    with Session(db.engine) as session, session.begin():
        outbox.publish(
            session,
            Event(aggregate_type=aggregate_type, aggregate_id="a", type="Made", payload={"n": n}),
        )


def _handled(db: Any) -> list[tuple[str, int]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text("SELECT topic, n FROM handled ORDER BY n"))]


def test_a_restarted_static_inbox_member_is_assigned_a_topic_created_meanwhile(
    outbox_db: Any, start_relay: Any, router: TopicRouter, kafka_bootstrap: str
) -> None:
    with outbox_db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE handled (topic text, n int)"))
    orders, refunds = router.topic("order"), router.topic("refund")
    start_relay("r1")
    _publish(outbox_db, router, "order", 1)

    def consumer() -> InboxConsumer:
        return InboxConsumer(
            kafka={
                "bootstrap.servers": kafka_bootstrap,
                "group.id": f"{orders}-billing",
                "group.instance.id": f"{orders}-billing-1",
                "session.timeout.ms": 30_000,
            },
            sessions=outbox_db.sessions,
            handler=_record,
            config=InboxConfig(name="billing", topics=(orders, refunds)),
        )

    def poll_until(inbox: InboxConsumer, wanted: list[tuple[str, int]]) -> None:
        def handled() -> tuple[list[tuple[str, int]], InboxStats]:
            inbox.poll(0.2)
            return _handled(outbox_db), inbox.stats

        eventually(
            handled,
            until=lambda got: got[0] == wanted,
            timeout=90,
            interval=0,
            description=f"{wanted} handled",
        )

    first = consumer()
    try:
        poll_until(first, [(orders, 1)])
    finally:
        first.close()  # a static member does not leave the group: its assignment waits for it
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    assert refunds not in admin.list_topics(timeout=10).topics

    _publish(outbox_db, router, "refund", 2)  # the relay's first message creates the topic
    eventually(
        lambda: refunds in admin.list_topics(timeout=10).topics,
        timeout=60,
        description=f"{refunds} created",
    )
    restarted = consumer()
    try:
        poll_until(restarted, [(orders, 1), (refunds, 2)])
    finally:
        restarted.close()
