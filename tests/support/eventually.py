"""Poll until a condition holds: the one "wait for it" loop the tests share.

    row = eventually(lambda: fetch_row(dsn, key), timeout=60, description=f"row {key} stored")
    count = eventually(lambda: count_rows(dsn), until=lambda n: n >= 10, description="10 rows")

The probe is called until it returns a truthy value (or, with ``until``, a value ``until``
accepts) without raising; that value is returned. An exception from the probe or from ``until``
(an ``assert`` in them included) counts as "not yet". At the timeout an `AssertionError` names
the description and the last value or exception, chained from that exception.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

_NOTHING: Any = object()


class _Last:
    """What the probe last gave: a value, an exception, or a value ``until`` raised on."""

    value: Any = _NOTHING
    error: Exception | None = None

    def describe(self) -> str:
        error = None if self.error is None else f"{type(self.error).__name__}: {self.error}"
        if self.value is _NOTHING:
            return "the probe never ran" if error is None else f"last error: {error}"
        if error is None:
            return f"last value: {self.value!r}"
        return f"last value: {self.value!r}, on which `until` raised {error}"


@overload
def eventually(
    probe: Callable[[], T],
    *,
    until: Callable[[T], object],
    timeout: float = ...,
    interval: float = ...,
    description: str | None = ...,
) -> T: ...


@overload
def eventually(
    probe: Callable[[], T | None],
    *,
    timeout: float = ...,
    interval: float = ...,
    description: str | None = ...,
) -> T: ...


def eventually(
    probe: Callable[[], Any],
    *,
    until: Callable[[Any], object] | None = None,
    timeout: float = 30.0,
    interval: float = 0.2,
    description: str | None = None,
) -> Any:
    """Call ``probe`` every ``interval`` seconds until its result holds; return that result.

    A result holds when it is truthy, or when ``until(result)`` is truthy if ``until`` is given.
    The probe runs at least once, and once more at the timeout; an exception from it or from
    ``until`` means "not yet". Raises `AssertionError` naming ``description`` (the probe's name
    if not given) and the last value or exception when the result still does not hold after
    ``timeout`` seconds.
    """
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    last = _Last()
    while True:
        last.value, last.error = _NOTHING, None
        try:
            last.value = probe()
            held = until(last.value) if until is not None else last.value
        except Exception as error:  # any failure means "not yet"
            last.error = error
        else:
            if held:
                return last.value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(interval, remaining))
    what = description or getattr(probe, "__qualname__", repr(probe))
    raise AssertionError(f"waited {timeout:g} s for: {what}; {last.describe()}") from last.error


__all__ = ["eventually"]
