"""A runner that is a static group member (``group.instance.id``) is restarted after Debezium
created the topic of a table's first change: the restarted member gets the group's old
assignment back, without that topic, and the runner rejoins so that the topic is applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from confluent_kafka.admin import AdminClient

from eventyard.cdc import Projection, ProjectionRunner, RunnerConfig
from tests.support.eventually import eventually

SOURCE = (
    "CREATE TABLE first (id int PRIMARY KEY, label text NOT NULL);"
    "CREATE TABLE second (id int PRIMARY KEY, label text NOT NULL);"
    "INSERT INTO first VALUES (1, 'one'), (2, 'two');"
)


def _projection() -> Projection:
    projection = Projection(
        "static_view",
        tables={
            "first": "CREATE TABLE {table} (id int PRIMARY KEY, label text)",
            "second": "CREATE TABLE {table} (id int PRIMARY KEY, label text)",
        },
    )
    projection.mirror("public.first", into="first", key=["id"])
    projection.mirror("public.second", into="second", key=["id"])
    return projection


def test_a_restarted_static_member_is_assigned_a_topic_created_meanwhile(
    source: Any,
    kafka_bootstrap: str,
    unique_name: Callable[[str], str],
    runners: list[ProjectionRunner],
    converge: Callable[..., None],
) -> None:
    source.sql(SOURCE)
    source.connect(["public.first", "public.second"])
    first_topic, second_topic = source.topic("public.first"), source.topic("public.second")
    group = unique_name("g")
    config = RunnerConfig(
        bootstrap_servers=kafka_bootstrap,
        dsn=source.dsn,
        group_id=group,
        topics=(first_topic, second_topic),
        schema="read_model",
        consumer_config={"group.instance.id": f"{group}-1", "session.timeout.ms": 30_000},
    )

    def rows(table: str) -> list[tuple[Any, ...]]:
        return list(source.rows(f"SELECT id, label FROM read_model.{table} ORDER BY id"))  # noqa: S608

    runner = ProjectionRunner(_projection(), config)
    runners.append(runner)
    converge(runner, lambda: rows("first") == [(1, "one"), (2, "two")])
    runner.close()  # a static member does not leave the group: its assignment waits for it
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    assert second_topic not in admin.list_topics(timeout=10).topics

    source.sql("INSERT INTO second VALUES (7, 'seven')")  # Debezium creates the topic now
    eventually(
        lambda: second_topic in admin.list_topics(timeout=10).topics,
        timeout=60,
        description=f"Debezium to create {second_topic}",
    )
    restarted = ProjectionRunner(_projection(), config)
    runners.append(restarted)
    converge(
        restarted,
        lambda: rows("second") == [(7, "seven")],
        why=lambda: restarted.metrics().partitions,
    )
    assert rows("first") == [(1, "one"), (2, "two")]
