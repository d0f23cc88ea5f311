"""How Eventyard's libraries retry: one value object, :class:`Retry`, read by every retry loop.

The fields are stamina's parameters under stamina's names (seconds as floats), so a
:class:`Retry` reads the same whether stamina runs the loop (:meth:`Retry.context`,
:meth:`Retry.call`: they sleep between tries) or the caller schedules the next try itself from
:meth:`Retry.delay` (an inbox pausing a partition, a saga instance's next wake-up, a loop that
must stay interruptible).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

import stamina

__all__ = ["Retry"]

T = TypeVar("T")

_RetryOn: TypeAlias = (
    type[Exception]
    | tuple[type[Exception], ...]
    | Callable[[Exception], bool | float | dt.timedelta]
)
"""What to retry on: exception types, or stamina's backoff hook (an exception in; True, False or
the wait to use out)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """How often an operation is tried, and how long to wait between tries. Seconds throughout.

    - ``attempts``: tries in all, the first included (None: no limit).
    - ``timeout``: no try starts later than this after the first one (None: no limit).
    - The wait after try ``n`` (1 for the first) is
      ``min(wait_max, wait_initial * wait_exp_base ** (n - 1) + jitter)``, the jitter between 0
      and ``wait_jitter``: stamina's formula (``wait_exp_base=1`` makes it a fixed interval).

    The defaults are stamina's. Each library documents which fields its loops read: a loop that
    counts its attempts elsewhere (an inbox counts them in its table, across restarts) has no
    use for ``timeout``.
    """

    attempts: int | None = 10
    timeout: float | None = 45.0
    wait_initial: float = 0.1
    wait_max: float = 5.0
    wait_jitter: float = 1.0
    wait_exp_base: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts is not None and self.attempts < 1:
            raise ValueError(f"attempts must be at least 1 (or None), not {self.attempts}")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"timeout must be positive (or None), not {self.timeout}")
        for name in ("wait_initial", "wait_max", "wait_jitter"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")
        if self.wait_exp_base < 1:
            raise ValueError(f"wait_exp_base must be at least 1, not {self.wait_exp_base}")

    def delay(self, attempt: int, *, seed: str | None = None) -> float:
        """The wait after try number ``attempt`` (1 for the first) failed; no I/O, no sleeping.

        The jitter is random; with ``seed`` (say, the id of what is retried) it is derived from
        the seed and the attempt instead, so the same inputs give the same delay.
        """
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, not {attempt}")
        if self.wait_jitter and seed is not None:
            digest = hashlib.blake2b(f"{seed}:{attempt}".encode(), digest_size=8).digest()
            jitter = int.from_bytes(digest, "big") / 2**64 * self.wait_jitter
        elif self.wait_jitter:
            jitter = random.uniform(0, self.wait_jitter)  # noqa: S311 - spreading, not secrets
        else:
            jitter = 0.0
        try:
            grown = self.wait_initial * self.wait_exp_base ** (attempt - 1)
        except OverflowError:
            return self.wait_max
        return min(self.wait_max, grown + jitter)

    def gives_up_after(self, attempt: int) -> bool:
        """Whether try number ``attempt`` was the last one ``attempts`` allows."""
        return self.attempts is not None and attempt >= self.attempts

    def context(self, *, on: _RetryOn) -> Iterator[stamina.Attempt]:
        """stamina's retry contexts with these settings: ``for attempt in retry.context(on=...):
        with attempt: ...``. A failure outside ``on``, or the last one, propagates."""
        return iter(
            stamina.retry_context(
                on,
                attempts=self.attempts,
                timeout=self.timeout,
                wait_initial=self.wait_initial,
                wait_max=self.wait_max,
                wait_jitter=self.wait_jitter,
                wait_exp_base=self.wait_exp_base,
            )
        )

    def call(self, fn: Callable[[], T], *, on: _RetryOn) -> T:
        """``fn()``, tried again (stamina sleeping in between) while it raises ``on``."""
        for attempt in self.context(on=on):
            with attempt:
                return fn()
        raise AssertionError("unreachable: stamina re-raises the last failure")
