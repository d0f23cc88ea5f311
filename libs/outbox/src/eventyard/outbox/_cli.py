"""``eventyard-outbox``: run the relay, create the tables, inspect the outbox, set up Debezium."""

from __future__ import annotations

import json
import logging
import signal
import sys
from datetime import timedelta
from typing import Annotated, Any

import psycopg
import structlog
import typer
from pydantic import ValidationError

from eventyard.outbox._debezium import DebeziumConnector
from eventyard.outbox._exceptions import OutboxError
from eventyard.outbox._postgres import PostgresOutboxStore
from eventyard.outbox._routing import TopicRouter
from eventyard.outbox._schema import InboxTable, OutboxTable, inbox_ddl, outbox_ddl
from eventyard.outbox._settings import RelaySettings, build_relay

__all__ = ["app", "main"]

app = typer.Typer(
    help="Transactional outbox for PostgreSQL and Kafka.",
    no_args_is_help=True,
    add_completion=False,
)
debezium_app = typer.Typer(help="Debezium mode: the EventRouter connector.", no_args_is_help=True)
app.add_typer(debezium_app, name="debezium")

DsnOption = Annotated[
    str,
    typer.Option(
        "--dsn", envvar=["EVENTYARD_OUTBOX_DSN", "EVENTYARD_PG_DSN"], help="PostgreSQL DSN"
    ),
]
TableOption = Annotated[str, typer.Option("--table", envvar="EVENTYARD_OUTBOX_TABLE")]
SchemaOption = Annotated[str, typer.Option("--schema", envvar="EVENTYARD_OUTBOX_SCHEMA")]
PartitionsOption = Annotated[
    int, typer.Option("--partitions", envvar="EVENTYARD_OUTBOX_PARTITIONS")
]
TemplateOption = Annotated[
    str, typer.Option("--topic-template", envvar="EVENTYARD_OUTBOX_TOPIC_TEMPLATE")
]


def _configure_logging(fmt: str) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        # The process's own stderr, never a stream a test harness swaps in and closes later.
        logger_factory=structlog.PrintLoggerFactory(file=sys.__stderr__),
    )


def _fail(message: str) -> None:
    typer.echo(f"eventyard-outbox: {message}", err=True)
    raise typer.Exit(2)


@app.command()
def relay(
    *,
    health_port: Annotated[
        int | None, typer.Option(help="serve /healthz, /readyz, /metrics on this port")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="this relay's name (default: host-pid-random)")
    ] = None,
    log_format: Annotated[str, typer.Option(help="json or console")] = "json",
) -> None:
    """Run a polling relay until SIGTERM or SIGINT (settings: EVENTYARD_OUTBOX_* variables)."""
    overrides: dict[str, Any] = {}
    if health_port is not None:
        overrides["health_port"] = health_port
    if name is not None:
        overrides["relay_name"] = name
    try:
        settings = RelaySettings(**overrides)
        the_relay = build_relay(settings)
    except ValidationError as error:
        _fail(f"settings: {error}")
        return
    except OutboxError as error:
        _fail(str(error))
        return
    _configure_logging(log_format)
    signal.signal(signal.SIGTERM, lambda *_: the_relay.stop())
    signal.signal(signal.SIGINT, lambda *_: the_relay.stop())
    try:
        the_relay.run()
    except OutboxError as error:
        _fail(str(error))


TimePartitionedOption = Annotated[bool, typer.Option(help="PARTITION BY RANGE (created_at)")]
InboxOption = Annotated[str | None, typer.Option(help="also an inbox table of this name")]
HeartbeatOption = Annotated[bool, typer.Option(help="the heartbeat table")]


def _statements(  # noqa: PLR0917 - the options of ddl and migrate, as given
    table: str,
    schema: str,
    partitions: int,
    time_partitioned: bool,
    inbox: str | None,
    debezium_heartbeat: bool,
) -> list[str]:
    """The DDL that ``ddl`` prints and ``migrate`` runs."""
    spec = OutboxTable(
        name=table, schema=schema, partitions=partitions, time_partitioned=time_partitioned
    )
    statements = outbox_ddl(spec, debezium_heartbeat=debezium_heartbeat)
    if inbox:
        statements += inbox_ddl(InboxTable(name=inbox, schema=schema))
    return statements


@app.command()
def ddl(
    *,
    table: TableOption = "outbox",
    schema: SchemaOption = "public",
    partitions: PartitionsOption = 64,
    time_partitioned: TimePartitionedOption = False,
    inbox: InboxOption = None,
    debezium_heartbeat: HeartbeatOption = False,
) -> None:
    """Print the DDL (idempotent statements) for the outbox and, optionally, an inbox."""
    try:
        statements = _statements(
            table, schema, partitions, time_partitioned, inbox, debezium_heartbeat
        )
    except OutboxError as error:
        _fail(str(error))
        return
    typer.echo(";\n\n".join(statements) + ";")


@app.command()
def migrate(
    *,
    dsn: DsnOption,
    table: TableOption = "outbox",
    schema: SchemaOption = "public",
    partitions: PartitionsOption = 64,
    time_partitioned: TimePartitionedOption = False,
    inbox: InboxOption = None,
    debezium_heartbeat: HeartbeatOption = False,
) -> None:
    """Create the outbox (and an inbox) in the database; running it again changes nothing."""
    try:
        statements = _statements(
            table, schema, partitions, time_partitioned, inbox, debezium_heartbeat
        )
        with psycopg.connect(dsn) as conn:
            for statement in statements:
                conn.execute(statement.encode())
    except OutboxError as error:
        _fail(str(error))
    except psycopg.Error as error:
        _fail(f"PostgreSQL: {error}")
    typer.echo(
        f"outbox {schema}.{table} ready" + (f", inbox {schema}.{inbox} ready" if inbox else "")
    )


@app.command()
def status(
    *,
    dsn: DsnOption,
    table: TableOption = "outbox",
    schema: SchemaOption = "public",
    partitions: PartitionsOption = 64,
) -> None:
    """Print the backlog, the relays and who owns which partition, as JSON."""
    store = PostgresOutboxStore(
        dsn, table=OutboxTable(name=table, schema=schema, partitions=partitions)
    )
    try:
        with store.connect("status") as session:
            backlog = session.backlog()
            owners = session.owners()
            relays = session.members() - 1
            horizon = session.horizon()
    except OutboxError as error:
        _fail(str(error))
        return
    by_relay: dict[str, list[int]] = {}
    for partition, owner in sorted(owners.items()):
        by_relay.setdefault(owner, []).append(partition)
    document = {
        "pending": backlog.pending,
        "oldest_pending_s": backlog.oldest_age_s,
        "set_aside": backlog.set_aside,
        "relays": relays,
        "unowned_partitions": sorted(set(range(partitions)) - set(owners)),
        "partitions_by_relay": by_relay,
        "latest_seq": horizon.latest,
    }
    typer.echo(json.dumps(document, indent=2))


@app.command()
def cleanup(
    *,
    dsn: DsnOption,
    retention_s: Annotated[float, typer.Option(help="remove published rows older than this")],
    table: TableOption = "outbox",
    schema: SchemaOption = "public",
    partitions: PartitionsOption = 64,
) -> None:
    """Remove published rows older than the retention (retention mode) once."""
    store = PostgresOutboxStore(
        dsn, table=OutboxTable(name=table, schema=schema, partitions=partitions)
    )
    try:
        with store.connect("cleanup") as session:
            removed = session.cleanup(timedelta(seconds=retention_s))
    except OutboxError as error:
        _fail(str(error))
        return
    typer.echo(f"removed {removed} rows")


def _connector(
    *, name: str, dsn: str, table: str, schema: str, template: str, prefix: str
) -> DebeziumConnector:
    return DebeziumConnector(
        name=name,
        dsn=dsn,
        table=OutboxTable(name=table, schema=schema),
        router=TopicRouter(template=template),
        topic_prefix=prefix,
    )


@debezium_app.command("config")
def debezium_config(
    *,
    dsn: DsnOption,
    name: Annotated[str, typer.Option(help="connector name")] = "eventyard-outbox",
    table: TableOption = "outbox",
    schema: SchemaOption = "public",
    topic_template: TemplateOption = "outbox.event.{aggregatetype}",
    topic_prefix: Annotated[str, typer.Option(help="Debezium topic.prefix")] = "eventyard",
) -> None:
    """Print the connector config JSON (for a KafkaConnector resource or the REST API)."""
    try:
        connector = _connector(
            name=name,
            dsn=dsn,
            table=table,
            schema=schema,
            template=topic_template,
            prefix=topic_prefix,
        )
    except OutboxError as error:
        _fail(str(error))
        return
    typer.echo(json.dumps({"name": name, "config": connector.config()}, indent=2))


@debezium_app.command("register")
def debezium_register(
    *,
    dsn: DsnOption,
    connect_url: Annotated[str, typer.Option(envvar="EVENTYARD_CONNECT_URL")],
    name: Annotated[str, typer.Option(help="connector name")] = "eventyard-outbox",
    table: TableOption = "outbox",
    schema: SchemaOption = "public",
    topic_template: TemplateOption = "outbox.event.{aggregatetype}",
    topic_prefix: Annotated[str, typer.Option(help="Debezium topic.prefix")] = "eventyard",
) -> None:
    """Create or update the connector through Connect's REST API and wait until it runs."""
    try:
        connector = _connector(
            name=name,
            dsn=dsn,
            table=table,
            schema=schema,
            template=topic_template,
            prefix=topic_prefix,
        )
        connector.register(connect_url)
    except OutboxError as error:
        _fail(str(error))
        return
    typer.echo(f"connector {name} running")


def main() -> None:
    """The console script."""
    app()
