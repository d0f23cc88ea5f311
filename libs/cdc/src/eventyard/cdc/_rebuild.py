"""The pieces of a rebuild: where each partition ends now, applying a batch into the fresh
``<table>__rebuild`` copies (poison events isolated and skipped), and swapping the copies in
with the rebuild's positions in one transaction."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from confluent_kafka import Consumer, Message, TopicPartition
from psycopg import sql

from eventyard.cdc._batch import Run
from eventyard.cdc._offsets import OffsetStore
from eventyard.cdc._projection import ApplyContext, Projection
from eventyard.cdc._runner_config import RunnerConfig
from eventyard.kafka import TopicPartitionKey

__all__ = ["apply_rebuild_batch", "below_ends", "log_ends", "swap_in"]


def log_ends(reader: Consumer, config: RunnerConfig) -> dict[TopicPartitionKey, int]:
    """The current end offset of every partition of the projection's topics."""
    metadata = reader.list_topics(timeout=30)
    if config.topics:
        topics = list(config.topics)
    else:
        pattern = re.compile(config.topic_pattern or "")
        topics = sorted(t for t in metadata.topics if pattern.fullmatch(t))
    ends: dict[TopicPartitionKey, int] = {}
    for topic in topics:
        described = metadata.topics.get(topic)
        if described is None:
            continue
        for partition in described.partitions:
            _, high = reader.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=30, cached=False
            )
            ends[(topic, partition)] = high
    return ends


def apply_rebuild_batch(
    conn: psycopg.Connection[Any],
    projection: Projection,
    *,
    schema: str,
    names: Mapping[str, str],
    runs: list[Run],
    reset_handlers: Callable[[], None],
) -> int:
    """Apply ``runs`` into the copies named in ``names``; how many poison events were skipped."""
    ctx = ApplyContext(
        conn=conn,
        projection=projection.name,
        schema=schema,
        rebuilding=True,
        _tables=names,
    )
    poison = 0
    with conn.transaction():
        for run in runs:
            handlers = projection.handlers(run.table)
            if not handlers:
                continue
            try:
                with conn.transaction():
                    for handler in handlers:
                        handler(ctx, run.events)
            except psycopg.OperationalError:
                raise
            except Exception:  # isolate the poison events, as the live runner did
                reset_handlers()
                for event in run.events:
                    try:
                        with conn.transaction():
                            for handler in handlers:
                                handler(ctx, [event])
                    except psycopg.OperationalError:
                        raise
                    except Exception:
                        reset_handlers()
                        poison += 1
    return poison


def swap_in(
    conn: psycopg.Connection[Any],
    offsets: OffsetStore,
    *,
    projection: str,
    schema: str,
    names: Mapping[str, str],
    positions: Mapping[TopicPartitionKey, int],
) -> None:
    """In one transaction: lock the live offset rows, replace each live table (and its indexes'
    names) by its copy, store the rebuild's positions."""
    with conn.transaction():
        offsets.load(conn, projection, positions)
        offsets.lock(conn, projection, positions)
        for live, fresh in names.items():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, live)))
            conn.execute(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                    sql.Identifier(schema, fresh), sql.Identifier(live)
                )
            )
            indexes = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
                (schema, live),
            ).fetchall()
            for (index,) in indexes:
                if fresh in index:
                    conn.execute(
                        sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                            sql.Identifier(schema, index),
                            sql.Identifier(index.replace(fresh, live)),
                        )
                    )
        offsets.save(conn, projection, positions)


def below_ends(
    messages: list[Message],
    ends: Mapping[TopicPartitionKey, int],
    positions: dict[TopicPartitionKey, int],
) -> list[Message]:
    """The messages below the log ends a rebuild started from; advances ``positions``."""
    wanted: list[Message] = []
    for message in messages:
        if message.error() is not None:
            continue
        key = (message.topic() or "", message.partition() or 0)
        offset = message.offset() or 0
        if key not in ends or offset >= ends[key]:
            continue
        wanted.append(message)
        positions[key] = offset + 1
    return wanted
