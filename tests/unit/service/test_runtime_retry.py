"""The runtime's boot retries: an eventyard.kafka.Retry, interruptible by stop()."""

from __future__ import annotations

import threading

import pytest

from eventyard.kafka import Retry
from eventyard.service import Runtime, ServiceSettings


class Settings(ServiceSettings):
    model_config = ServiceSettings.config_for("greeter")
    database: str = "eventyard_greeter"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("EVENTYARD_PG_DSN", "host=127.0.0.1 port=1 user=nobody dbname=postgres")
    monkeypatch.setenv("EVENTYARD_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    return Settings()


def test_boot_waits_retry_delay_after_each_failure(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    retry = Retry(wait_initial=0.2, wait_max=0.5, wait_jitter=0.0)
    runtime = Runtime(name="greeter", settings=settings, migrations=None, retry=retry)
    problems = iter(["database away", "database away", "kafka away", None])
    monkeypatch.setattr(runtime, "_try_boot", lambda: next(problems))
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return False

    monkeypatch.setattr(runtime._stopping, "wait", wait)
    runtime.boot()
    assert runtime.booted
    assert waits == [0.2, 0.4, 0.5]


def test_stop_ends_a_boot_that_keeps_failing(settings: Settings) -> None:
    runtime = Runtime(name="greeter", settings=settings, migrations=None)
    runtime._try_boot = lambda: "database away"  # type: ignore[method-assign]
    booting = threading.Thread(target=runtime.boot)
    booting.start()
    runtime._stopping.set()
    booting.join(10)
    assert not booting.is_alive()
    assert not runtime.booted


def test_retry_max_s_still_works_and_warns(settings: Settings) -> None:
    with pytest.deprecated_call(match=r"retry=Retry\(wait_max=\.\.\.\)"):
        runtime = Runtime(name="greeter", settings=settings, migrations=None, retry_max_s=1.5)
    assert runtime._retry.wait_max == 1.5
    assert runtime._retry.wait_initial == 0.2
