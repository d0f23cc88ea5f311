"""Service settings: own variables under EVENTYARD_<SVC>_, shared ones unprefixed."""

from __future__ import annotations

import psycopg
import pytest

from eventyard.service import ConfigError, ServiceSettings


class Settings(ServiceSettings):
    model_config = ServiceSettings.config_for("order-history")
    database: str = "eventyard_order_history"


def test_the_database_is_derived_from_the_server_dsn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_PG_DSN", "host=db port=5432 user=app dbname=postgres")
    monkeypatch.setenv("EVENTYARD_ORDER_HISTORY_PORT", "9000")
    settings = Settings()
    info = psycopg.conninfo.conninfo_to_dict(settings.database_dsn())
    assert info["dbname"] == "eventyard_order_history"
    assert info["host"] == "db"
    assert settings.port == 9000


def test_an_own_dsn_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_PG_DSN", "host=db dbname=postgres")
    monkeypatch.setenv("EVENTYARD_ORDER_HISTORY_DSN", "host=other dbname=history")
    assert Settings().database_dsn() == "host=other dbname=history"


def test_missing_settings_name_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("EVENTYARD_PG_DSN", "EVENTYARD_ORDER_HISTORY_DSN", "EVENTYARD_KAFKA_BOOTSTRAP"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    with pytest.raises(ConfigError, match=r"EVENTYARD_ORDER_HISTORY_DSN.*EVENTYARD_PG_DSN"):
        settings.database_dsn()
    with pytest.raises(ConfigError, match="EVENTYARD_KAFKA_BOOTSTRAP"):
        settings.bootstrap()


def test_a_bad_topic_prefix_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTYARD_SHOP_TOPIC_PREFIX", "a b")
    with pytest.raises(ValueError, match="EVENTYARD_SHOP_TOPIC_PREFIX"):
        Settings()
