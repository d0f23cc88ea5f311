"""The relay's settings from the environment, the producer settings, and the command line."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from eventyard.outbox import ConfigError, RelaySettings, build_relay, producer_config
from eventyard.outbox._cli import app


def test_settings_come_from_eventyard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_PG_DSN", "postgresql://u@h/db")
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", "k:9092")
    monkeypatch.setenv("EVENTYARD_OUTBOX_BATCH_SIZE", "250")
    monkeypatch.setenv("EVENTYARD_OUTBOX_SCHEMA", "shop")
    monkeypatch.setenv("EVENTYARD_OUTBOX_RETENTION_S", "3600")
    monkeypatch.setenv("EVENTYARD_OUTBOX_PRODUCER", '{"linger.ms": 20}')
    settings = RelaySettings()
    assert settings.dsn == "postgresql://u@h/db"
    assert settings.kafka_bootstrap == "k:9092"
    assert settings.relay_config().batch_size == 250
    assert settings.outbox_table().schema == "shop"
    assert settings.cleanup().retention == timedelta(hours=1)
    assert settings.producer == {"linger.ms": 20}
    relay = build_relay(settings)  # wiring only: nothing connects until run()
    assert relay.config.batch_size == 250


def test_outbox_specific_variables_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_PG_DSN", "postgresql://stack/db")
    monkeypatch.setenv("EVENTYARD_OUTBOX_DSN", "postgresql://outbox/db")
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", "k:9092")
    assert RelaySettings().dsn == "postgresql://outbox/db"
    assert RelaySettings().cleanup().retention is None


def test_producer_config_is_idempotent_never_times_out_and_partitions_like_java() -> None:
    config = producer_config("k:9092", extra={"linger.ms": 1, "compression.type": "lz4"})
    assert config["enable.idempotence"] is True
    assert config["acks"] == "all"
    assert config["message.timeout.ms"] == 0
    assert config["partitioner"] == "murmur2_random"
    assert config["linger.ms"] == 1
    assert config["compression.type"] == "lz4"


@pytest.mark.parametrize(
    "extra", [{"enable.idempotence": False}, {"message.timeout.ms": 30000}, {"acks": "1"}]
)
def test_settings_the_order_depends_on_cannot_be_overridden(extra: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="ordering depends on"):
        producer_config("k:9092", extra=extra)


def test_cli_prints_the_ddl() -> None:
    result = CliRunner().invoke(app, ["ddl", "--table", "events", "--inbox", "inbox"])
    assert result.exit_code == 0, result.output
    assert 'CREATE TABLE IF NOT EXISTS "public"."events"' in result.output
    assert 'CREATE TABLE IF NOT EXISTS "public"."inbox"' in result.output


def test_cli_refuses_a_bad_table_name_clearly() -> None:
    result = CliRunner().invoke(app, ["ddl", "--table", "Bad Name"])
    assert result.exit_code == 2
    assert "not a plain lower-case SQL identifier" in result.output


def test_cli_prints_the_debezium_config() -> None:
    result = CliRunner().invoke(
        app, ["debezium", "config", "--dsn", "postgresql://u@h:5432/db", "--name", "shop"]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["name"] == "shop"
    assert document["config"]["transforms.outbox.route.by.field"] == "aggregatetype"


def test_cli_relay_without_settings_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EVENTYARD_PG_DSN", "EVENTYARD_OUTBOX_DSN", "EVENTYARD_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["relay"])
    assert result.exit_code == 2
    assert "EVENTYARD_OUTBOX_DSN" in result.output or "dsn" in result.output
