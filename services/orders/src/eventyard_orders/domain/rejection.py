"""Why an order was rejected: the failing step's reason, and its code in ``OrderRejected``.

Participants refuse with reasons that start with a fixed phrase (``insufficient credit: ...``,
``out of stock: ...``, ``unknown sku ...``, ``unknown customer ...``); a step that got no reply
before its deadline on every attempt gave up. The code is the Avro enum ``RejectionReason``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["Failure", "Rejection", "RejectionReason", "rejection_of"]

#: What the saga records when a step's last attempt had no reply before its deadline.
NO_REPLY: Final = "no reply before the deadline"


class RejectionReason(StrEnum):
    """The symbols of ``eventyard.orders.RejectionReason``."""

    INSUFFICIENT_CREDIT = "INSUFFICIENT_CREDIT"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    TIMED_OUT = "TIMED_OUT"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, kw_only=True, slots=True)
class Failure:
    """The step-log line that made the saga compensate.

    ``outcome`` is ``FAILED`` (refused: ``detail`` is the participant's reason), ``GAVE_UP``
    (out of attempts: ``detail`` is why the last one failed) or ``ABORTED`` (an operator).
    """

    step: str | None
    outcome: str
    detail: str | None


@dataclass(frozen=True, kw_only=True, slots=True)
class Rejection:
    """The order's ``reason`` text and the event's code."""

    code: RejectionReason
    reason: str


_PREFIXES: Final = (
    ("insufficient credit", RejectionReason.INSUFFICIENT_CREDIT),
    ("out of stock", RejectionReason.OUT_OF_STOCK),
)


def rejection_of(failure: Failure | None) -> Rejection:
    """The rejection a failure means (UNKNOWN, "rejected" when nothing says why)."""
    if failure is None:
        return Rejection(code=RejectionReason.UNKNOWN, reason="rejected")
    detail = (failure.detail or "").strip()
    step = failure.step or "the saga"
    if failure.outcome == "FAILED":
        for prefix, code in _PREFIXES:
            if detail.lower().startswith(prefix):
                return Rejection(code=code, reason=detail)
        return Rejection(code=RejectionReason.UNKNOWN, reason=detail or f"{step} failed")
    if failure.outcome == "GAVE_UP":
        if detail == NO_REPLY:
            return Rejection(
                code=RejectionReason.TIMED_OUT, reason=f"timed out: {step} got {NO_REPLY}"
            )
        return Rejection(code=RejectionReason.UNKNOWN, reason=f"{step} gave up: {detail}")
    return Rejection(code=RejectionReason.UNKNOWN, reason=detail or "aborted")
