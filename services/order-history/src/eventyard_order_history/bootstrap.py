"""Wiring: settings -> runtime (database, migrations, Kafka) -> connectors, projection and SKU
statistics as supervised workers, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eventyard.cdc import ProjectionRunner, RunnerConfig
from eventyard.kafka.connect import ConnectClient
from eventyard.service import ConfigError, Runtime, Worker, consumer_config, ensure_topics
from eventyard.telemetry import Telemetry
from eventyard_order_history.adapters.debezium import (
    ConnectorSpec,
    connector_config,
    shop_connectors,
)
from eventyard_order_history.adapters.projection import ORDERS_TABLE, build_projection
from eventyard_order_history.adapters.read_model import ReadModel
from eventyard_order_history.adapters.sku_stats import SkuStats
from eventyard_order_history.adapters.sources import source_problem
from eventyard_order_history.service_layer.connectors import ConnectorKeeper
from eventyard_order_history.service_layer.projection import ProjectionLoop
from eventyard_order_history.settings import Settings

__all__ = ["READ_MODEL_SCHEMA", "Service", "bootstrap"]

READ_MODEL_SCHEMA = "order_history"
"""The PostgreSQL schema of the read model (created by migration 0001)."""

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


@dataclass(frozen=True, slots=True, kw_only=True)
class Service:
    """Everything the entrypoints use."""

    settings: Settings
    runtime: Runtime
    connectors: ConnectorKeeper
    projection: ProjectionLoop
    stats: SkuStats
    read_model: ReadModel

    def checks(self) -> dict[str, str]:
        """Readiness beyond the runtime's: each connector, the projection, the statistics."""
        checks = {f"connector:{name}": state for name, state in self.connectors.states().items()}
        checks["projection"] = "running" if self.projection.running else "starting"
        checks["sku-stats"] = "running" if self.stats.running else "starting"
        return checks


def bootstrap(settings: Settings | None = None, *, telemetry: Telemetry | None = None) -> Service:
    """The service, nothing started (the runtime's lifespan starts it)."""
    settings = settings or Settings()
    if not settings.connect_url:
        raise ConfigError("no Kafka Connect: set EVENTYARD_CONNECT_URL")
    if not settings.pg_dsn:
        raise ConfigError(
            "no source PostgreSQL server: set EVENTYARD_PG_DSN (the orders and customers "
            "databases are streamed from it)"
        )
    server_dsn = settings.pg_dsn
    bootstrap_servers = settings.bootstrap()
    specs = shop_connectors(
        settings.topic_prefix,
        orders_database=settings.orders_database,
        customers_database=settings.customers_database,
    )
    orders_spec, _ = specs
    keeper = ConnectorKeeper(
        client=ConnectClient(settings.connect_url),
        specs=specs,
        configs={spec.name: connector_config(spec, server_dsn) for spec in specs},
        source_problem=lambda spec: source_problem(server_dsn, spec),
        prepare=lambda: ensure_topics(bootstrap_servers, _topics(specs), partitions=1),
        check_s=settings.connector_check_s,
        retry_max_s=settings.connector_retry_max_s,
    )
    stats = SkuStats(
        app_id=settings.stats_app_id,
        bootstrap=bootstrap_servers,
        topic=orders_spec.topic,
        orders_table=ORDERS_TABLE,
        wait_for=keeper.prepared,
    )

    def make_runner() -> ProjectionRunner:  # called by the projection worker, after boot
        group = settings.projection_group
        config = RunnerConfig(
            bootstrap_servers=bootstrap_servers,
            dsn=runtime.dsn,
            group_id=group,
            topics=tuple(spec.topic for spec in specs),
            schema=READ_MODEL_SCHEMA,
            dead_letter_topic=f"{settings.topic_prefix}.order-history.dlq",
            consumer_config=consumer_config(runtime, group),
            trace_context_column="traceparent",
        )
        return ProjectionRunner(build_projection(), config)

    projection = ProjectionLoop(make_runner, wait_for=keeper.prepared)

    def late_checks() -> dict[str, str]:  # ``service`` exists by the time readiness is asked
        return service.checks()

    runtime = Runtime(
        name="order-history",
        settings=settings,
        migrations=MIGRATIONS,
        workers=lambda _: [
            Worker(name="connectors", run=keeper.run, stop=keeper.stop),
            Worker(name="projection", run=projection.run, stop=projection.stop),
            Worker(name="sku-stats", run=stats.run, stop=stats.stop),
        ],
        checks=late_checks,
        telemetry=telemetry,
    )
    service = Service(
        settings=settings,
        runtime=runtime,
        connectors=keeper,
        projection=projection,
        stats=stats,
        read_model=ReadModel(READ_MODEL_SCHEMA),
    )
    return service


def _topics(specs: tuple[ConnectorSpec, ...]) -> list[str]:
    return [spec.topic for spec in specs]
