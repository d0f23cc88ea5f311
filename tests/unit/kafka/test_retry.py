"""Retry: stamina's parameters in one frozen value; its delays, and the loops it runs."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
import stamina
from hypothesis import given
from hypothesis import strategies as st

from eventyard.kafka import Retry

NO_JITTER = Retry(wait_initial=0.1, wait_max=1.0, wait_jitter=0.0)


@pytest.fixture
def no_sleeping(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record tenacity's sleeps instead of sleeping (stamina's test mode would change attempts)."""
    slept: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", slept.append)
    return slept


def test_it_is_frozen_keyword_only_and_defaults_to_staminas_settings() -> None:
    params = inspect.signature(Retry).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        Retry().attempts = 3  # type: ignore[misc]
    # The names and defaults are stamina.retry_context's.
    stamina_params = inspect.signature(stamina.retry_context).parameters
    for name, param in params.items():
        assert stamina_params[name].default == param.default, name


@pytest.mark.parametrize(
    "settings",
    [
        {"attempts": 0},
        {"timeout": 0},
        {"timeout": -1.0},
        {"wait_initial": -0.1},
        {"wait_max": -1.0},
        {"wait_jitter": -1.0},
        {"wait_exp_base": 0.5},
    ],
)
def test_unusable_settings_are_refused(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(settings))):
        Retry(**settings)  # type: ignore[arg-type]


def test_no_limits_are_allowed() -> None:
    unlimited = Retry(attempts=None, timeout=None)
    assert not unlimited.gives_up_after(10**6)


def test_delay_grows_exponentially_up_to_wait_max() -> None:
    assert [NO_JITTER.delay(n) for n in range(1, 7)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    )


def test_wait_exp_base_one_is_a_fixed_interval() -> None:
    fixed = Retry(wait_initial=0.5, wait_max=0.5, wait_jitter=0.0, wait_exp_base=1.0)
    assert {fixed.delay(n) for n in range(1, 50)} == {0.5}


def test_a_huge_attempt_number_gives_wait_max() -> None:
    assert NO_JITTER.delay(100_000) == 1.0


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        NO_JITTER.delay(0)


@given(
    attempt=st.integers(1, 200),
    initial=st.floats(0, 10),
    maximum=st.floats(0, 100),
    jitter=st.floats(0, 5),
    base=st.floats(1, 4),
)
def test_delay_stays_between_the_jitterless_wait_and_wait_max(
    attempt: int, initial: float, maximum: float, jitter: float, base: float
) -> None:
    retry = Retry(wait_initial=initial, wait_max=maximum, wait_jitter=jitter, wait_exp_base=base)
    low = dataclasses.replace(retry, wait_jitter=0.0).delay(attempt)
    for seed in (None, "saga-1"):
        assert low <= retry.delay(attempt, seed=seed) <= maximum


def test_a_seed_makes_the_jitter_repeatable_and_still_spread() -> None:
    retry = Retry(wait_initial=1.0, wait_max=100.0, wait_jitter=1.0)
    assert retry.delay(3, seed="a") == retry.delay(3, seed="a")
    spread = {retry.delay(3, seed=str(n)) for n in range(50)}
    assert len(spread) == 50
    assert all(4.0 <= d <= 5.0 for d in spread)


def test_gives_up_after_the_last_attempt() -> None:
    retry = Retry(attempts=3)
    assert [retry.gives_up_after(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


def test_call_retries_what_on_names_and_sleeps_the_delays(no_sleeping: list[float]) -> None:
    failures = iter([ConnectionError("1"), ConnectionError("2")])

    def flaky() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "done"

    assert NO_JITTER.call(flaky, on=ConnectionError) == "done"
    assert no_sleeping == pytest.approx([0.1, 0.2])


def test_call_gives_up_after_attempts_with_the_last_error(no_sleeping: list[float]) -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise ConnectionError(f"try {len(calls)}")

    with pytest.raises(ConnectionError, match="try 3"):
        Retry(attempts=3, wait_jitter=0.0).call(broken, on=ConnectionError)
    assert len(calls) == 3
    assert len(no_sleeping) == 2


def test_other_errors_are_not_retried(no_sleeping: list[float]) -> None:
    calls: list[int] = []

    def wrong() -> None:
        calls.append(1)
        raise KeyError("x")

    with pytest.raises(KeyError):
        NO_JITTER.call(wrong, on=ConnectionError)
    assert calls == [1]
    assert no_sleeping == []


def test_context_yields_staminas_attempts(no_sleeping: list[float]) -> None:
    seen: list[int] = []
    for attempt in NO_JITTER.context(on=(ConnectionError, TimeoutError)):
        with attempt:
            seen.append(attempt.num)
            if attempt.num < 3:
                raise TimeoutError
    assert seen == [1, 2, 3]
    assert no_sleeping == pytest.approx([0.1, 0.2])


def test_a_backoff_hook_decides_and_may_set_the_wait(no_sleeping: list[float]) -> None:
    outcomes = iter([ValueError("again"), ValueError("again")])

    def hook(error: Exception) -> bool | float:
        return 0.25 if str(error) == "again" else False

    def work() -> int:
        error = next(outcomes, None)
        if error is not None:
            raise error
        return 1

    assert NO_JITTER.call(work, on=hook) == 1
    assert no_sleeping == [0.25, 0.25]


def test_staminas_test_mode_applies(no_sleeping: list[float]) -> None:
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise ConnectionError

    with stamina.set_testing(True, attempts=2), pytest.raises(ConnectionError):
        Retry(attempts=10).call(broken, on=ConnectionError)
    assert len(calls) == 2
    assert no_sleeping == [0.0]
