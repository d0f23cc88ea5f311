"""The outbox's spans: eventyard.telemetry's messaging spans, under the outbox's name.

``create <topic>`` (PRODUCER) is current while an event's row is written, so the row stores its
context; ``process <topic>`` (CONSUMER) is its child when a consumer handles the message, so one
request and what it caused form one trace.
"""

from __future__ import annotations

from typing import Final

from eventyard.telemetry import consumer_span, producer_span, trace_headers

__all__ = ["INSTRUMENTATION", "consumer_span", "producer_span", "trace_headers"]

INSTRUMENTATION: Final = "eventyard.outbox"
"""The instrumentation scope of the outbox's spans."""
