"""Projection, mirror and runner settings: mistakes are refused early with a clear message."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from eventyard.cdc import (
    ApplyContext,
    ChangeEvent,
    ConfigError,
    ConnectSchema,
    Decoder,
    Projection,
    RunnerConfig,
    TableMirror,
    pg_type,
)
from eventyard.cdc.faust import changes, commit_time, current_change, debezium_topic, row_time
from eventyard.cdc.testing import change_record, column
from eventyard.kafka import Retry

DDL = "CREATE TABLE {table} (id bigint PRIMARY KEY)"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({}, "either topics or topic_pattern"),
        ({"topics": ("a",), "topic_pattern": "b"}, "either topics or topic_pattern"),
        ({"topics": ("a",), "batch_size": 0}, "batch_size must be positive"),
        ({"topic_pattern": "(unclosed"}, "topic_pattern '(unclosed'"),
    ],
)
def test_runner_config_is_checked(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem.replace("(", r"\(")):
        RunnerConfig(bootstrap_servers="b", dsn="d", group_id="g", **kwargs)


def test_outages_are_retried_for_two_minutes_by_default() -> None:
    retry = RunnerConfig(bootstrap_servers="b", dsn="d", group_id="g", topics=("t",)).retry
    assert (retry.attempts, retry.timeout) == (None, 120.0)
    assert 0.5 <= retry.delay(1) <= 1.0
    assert retry.delay(20) == 5.0


def test_the_old_retry_settings_still_work_and_warn() -> None:
    with pytest.deprecated_call(match="retry_backoff_s, retry_max_s"):
        config = RunnerConfig(
            bootstrap_servers="b",
            dsn="d",
            group_id="g",
            topics=("t",),
            retry_backoff_s=0.2,
            retry_max_s=30.0,
        )
    assert config.retry == Retry(
        attempts=None, timeout=30.0, wait_initial=0.2, wait_max=0.2, wait_jitter=0.0
    )
    assert {config.retry.delay(n) for n in range(1, 10)} == {0.2}  # the old fixed pause
    with pytest.raises(ConfigError, match="timeout"), pytest.deprecated_call():
        RunnerConfig(bootstrap_servers="b", dsn="d", group_id="g", topics=("t",), retry_max_s=0)


def test_consumer_settings_store_nothing_in_kafka_by_themselves() -> None:
    config = RunnerConfig(
        bootstrap_servers="b",
        dsn="d",
        group_id="g",
        topics=("t",),
        consumer_config={"session.timeout.ms": 6000},
    )
    settings = config.consumer_settings()
    assert settings["enable.auto.commit"] is False
    assert settings["enable.auto.offset.store"] is False
    assert settings["isolation.level"] == "read_committed"
    assert settings["session.timeout.ms"] == 6000


def test_projection_mistakes() -> None:
    with pytest.raises(ConfigError, match="1 to 40 characters"):
        Projection("")
    with pytest.raises(ConfigError, match="must contain"):
        Projection("p", tables={"t": "CREATE TABLE x (id int)"})
    projection = Projection("p", tables={"t": DDL})
    with pytest.raises(ConfigError, match=r"'schema\.table'"):
        projection.add("orders", lambda ctx, events: None)
    with pytest.raises(ConfigError, match="not one of the projection's tables"):
        projection.mirror("public.orders", into="elsewhere", key=["id"])
    with pytest.raises(ConfigError, match=r"key columns \['id'\] are not mirrored"):
        TableMirror(into="t", key=["id"], columns=["name"])
    with pytest.raises(ConfigError, match="at least one key column"):
        TableMirror(into="t", key=[])


def test_handlers_register_in_order_per_table() -> None:
    projection = Projection("p", tables={"t": DDL})
    mirror = projection.mirror("public.orders", into="t", key=["id"])

    @projection.on("public.orders")
    def each(ctx: ApplyContext, event: Any) -> None: ...

    assert projection.handlers("public.orders")[0] is mirror
    assert len(projection.handlers("public.orders")) == 2
    assert projection.handlers("public.other") == ()
    assert projection.source_tables == ("public.orders",)


def test_apply_context_names_the_physical_table() -> None:
    ctx = ApplyContext(conn=None, projection="p", schema="rm", _tables={"t": "t__rebuild"})  # type: ignore[arg-type]
    assert ctx.physical_name("t") == "t__rebuild"
    with pytest.raises(ConfigError, match="declares no table 'x'"):
        ctx.table("x")


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (column("decimal", scale=2), "numeric"),
        (column("micro_timestamp"), "timestamp"),
        (column("zoned_timestamp"), "timestamptz"),
        (column("json"), "jsonb"),
        (column("uuid"), "uuid"),
        (column("int_array"), "integer[]"),
        (column("interval"), "interval"),
        (ConnectSchema(type="int16"), "smallint"),
        (
            ConnectSchema(type="string", parameters={"__debezium.source.column.type": "NUMERIC"}),
            "numeric",
        ),
        (ConnectSchema(type="string", name="io.debezium.data.Enum"), "text"),
    ],
)
def test_pg_types_of_added_columns(schema: ConnectSchema, expected: str) -> None:
    assert pg_type(schema) == expected


class _FakeMessage:
    def __init__(self, topic: str, key: bytes | None, value: bytes | None, offset: int) -> None:
        self.topic, self.partition, self.offset = topic, 0, offset
        self.key, self.value = key, value


class _FakeEvent:
    def __init__(self, message: _FakeMessage) -> None:
        self.message = message


class _FakeStream:
    def __init__(self, messages: list[_FakeMessage]) -> None:
        self.messages = messages

    async def events(self) -> Any:
        for message in self.messages:
            yield _FakeEvent(message)


def test_faust_helpers_decode_and_skip() -> None:
    columns = {
        "id": column("int64"),
        "placed": column("zoned_timestamp"),
        "amount": column("decimal", scale=2),
    }
    placed = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    key, value = change_record(
        table="public.orders",
        op="c",
        columns=columns,
        after={"id": 1, "placed": placed, "amount": Decimal("2.50")},
        ts_ms=1_700_000_000_123,
    )
    other_key, other = change_record(
        table="public.other",
        op="c",
        columns=columns,
        after={"id": 2, "placed": placed, "amount": Decimal(1)},
    )
    stream = _FakeStream(
        [
            _FakeMessage("t", key, None, 0),  # a tombstone: skipped
            _FakeMessage("t", b"x", b"garbage", 1),  # undecodable: reported, skipped
            _FakeMessage("t", other_key, other, 2),  # another table: filtered out
            _FakeMessage("t", key, value, 3),
        ]
    )
    errors: list[Exception] = []
    seen: list[tuple[Any, float, float]] = []

    async def consume() -> None:
        async for change in changes(
            stream, decoder=Decoder(), tables={"public.orders"}, on_error=errors.append
        ):
            seen.append((change, row_time("placed")(None), commit_time()))

    asyncio.run(consume())
    assert len(errors) == 1
    assert "t[0]@1" in str(errors[0])
    ((change, when, committed),) = seen
    assert isinstance(change, ChangeEvent)
    assert change.after is not None
    assert change.after["amount"] == Decimal("2.50")
    assert when == placed.timestamp()
    assert committed == 1_700_000_000.123
    assert current_change.get() is None  # the agent's context, not this one

    class _App:
        def topic(self, *topics: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
            return topics, options

    topics, options = debezium_topic(_App(), "a", "b", partitions=3)
    assert topics == ("a", "b")
    assert options["value_serializer"] == "raw"
    assert options["partitions"] == 3
