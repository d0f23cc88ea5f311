"""OrchestratorConfig's retry setting, and its old spelling."""

from __future__ import annotations

import pytest

from eventyard.kafka import Retry
from eventyard.saga import ConfigError, OrchestratorConfig


def test_the_orchestrator_retries_with_growing_waits_by_default() -> None:
    retry = OrchestratorConfig().retry
    assert (retry.attempts, retry.timeout) == (10, 60.0)  # resume() at start-up
    assert 0.5 <= retry.delay(1) <= 1.0
    assert retry.delay(50) == 5.0


def test_error_backoff_still_works_as_a_fixed_pause_and_warns() -> None:
    with pytest.deprecated_call(match=r"error_backoff.*retry=Retry"):
        config = OrchestratorConfig(retry=Retry(attempts=3), error_backoff=2.0)
    assert config.retry == Retry(attempts=3, wait_initial=2.0, wait_max=2.0, wait_jitter=0.0)
    assert {config.retry.delay(n, seed="s") for n in range(1, 10)} == {2.0}
    with pytest.raises(ConfigError, match="wait_initial"), pytest.deprecated_call():
        OrchestratorConfig(error_backoff=-1.0)


def test_no_warning_without_the_old_name(recwarn: pytest.WarningsRecorder) -> None:
    OrchestratorConfig(retry=Retry(wait_jitter=0.0))
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
