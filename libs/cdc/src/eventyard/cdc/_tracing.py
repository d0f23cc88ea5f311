"""Spans of the projection runner, for change events that carry their W3C trace context.

Turned on by ``RunnerConfig(trace_context_column=...)``: a column of the source table where the
writing transaction stored its ``traceparent``. Each batch is applied in an ``apply batch`` span
that links the contexts of its events; each change event whose row (``after``, or ``before`` for
a delete) has a ``traceparent`` in that column is applied in an ``apply <table>`` span (CONSUMER,
messaging attributes of its Kafka record) whose parent is that context, so the change lands in
the trace of the transaction that made it. Without the option none of this runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

from eventyard.cdc._batch import Run
from eventyard.cdc._events import ChangeEvent, TableEvent
from eventyard.telemetry import context_from_traceparent, tracer

__all__ = ["INSTRUMENTATION", "ApplyTracing", "BatchTrace"]

INSTRUMENTATION: Final = "eventyard.cdc"
"""The instrumentation scope of the runner's spans."""


class ApplyTracing:
    """Makes the runner's spans; ``column`` holds each row's ``traceparent``."""

    def __init__(
        self, column: str, *, projection: str, tracer_provider: TracerProvider | None = None
    ) -> None:
        self.column = column
        self.projection = projection
        self.tracer = tracer(INSTRUMENTATION, tracer_provider)

    @contextmanager
    def batch(self) -> Iterator[BatchTrace]:
        """The ``apply batch`` span, current while the batch's transaction runs."""
        with self.tracer.start_as_current_span(
            "apply batch",
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.operation.name": "apply",
                "eventyard.projection": self.projection,
            },
        ) as span:
            yield BatchTrace(self, span)


class BatchTrace:
    """The spans of the events of one batch, linked from its ``apply batch`` span."""

    def __init__(self, tracing: ApplyTracing, span: Span) -> None:
        self._tracing = tracing
        self.span = span

    @contextmanager
    def run(self, run: Run) -> Iterator[None]:
        """Spans for the events of ``run``, open while batch handlers apply them together."""
        spans = [span for event in run.events if (span := self._start(event)) is not None]
        try:
            yield
        except BaseException as error:
            for span in spans:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            raise
        finally:
            for span in spans:
                span.end()

    @contextmanager
    def event(self, event: TableEvent) -> Iterator[None]:
        """The span of one event applied on its own, current while it is applied."""
        span = self._start(event)
        if span is None:
            yield
            return
        with trace.use_span(span, end_on_exit=True):
            yield

    def _start(self, event: TableEvent) -> Span | None:
        if not isinstance(event, ChangeEvent):
            return None
        row = event.after if event.after is not None else event.before
        traceparent = row.get(self._tracing.column) if row is not None else None
        if not isinstance(traceparent, str):
            return None
        parent = context_from_traceparent(traceparent)
        context = trace.get_current_span(parent).get_span_context()
        if not context.is_valid:
            return None
        self.span.add_link(context)
        position = event.position
        return self._tracing.tracer.start_span(
            f"apply {event.table}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "process",
                "messaging.operation.name": "apply",
                "messaging.destination.name": position.topic,
                "messaging.destination.partition.id": str(position.partition),
                "messaging.kafka.offset": position.offset,
                "eventyard.cdc.op": event.op.value,
                "eventyard.projection": self._tracing.projection,
            },
        )
