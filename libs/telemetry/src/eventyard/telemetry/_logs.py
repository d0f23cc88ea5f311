"""Logs: one JSON line per event on stderr, with the current span's ``trace_id``/``span_id``.

structlog renders through the standard library's logging, so records of libraries that use
``logging`` get the same JSON shape, and one handler list serves both (stderr, and OTLP when
logs are exported).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

import structlog
from opentelemetry import trace
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = ["add_trace_context", "configure_logging", "json_formatter"]

_HANDLER_MARK = "_eventyard_telemetry"
"""Attribute marking the root handlers this module installed (replaced when configured again)."""


def add_trace_context(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: ``trace_id`` and ``span_id`` of the current span, when valid."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


_SHARED: tuple[Processor, ...] = (
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    add_trace_context,
)


def json_formatter() -> logging.Formatter:
    """The formatter rendering structlog events and plain ``logging`` records as JSON lines."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ],
    )


_SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def configure_logging(level: str, *, extra_handlers: Sequence[logging.Handler] = ()) -> None:
    """Route structlog through ``logging``; JSON to stderr (and ``extra_handlers``) at ``level``."""
    number = logging.getLevelNamesMapping().get(level.upper())
    if number is None:
        raise ValueError(f"unknown log level {level!r}")
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(number),
        cache_logger_on_first_use=False,  # module-level loggers follow a reconfiguration
    )
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(json_formatter())
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    for handler in (stderr, *extra_handlers):
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(number)
    # A server's own logging setup (uvicorn's default config gives "uvicorn" a handler and stops
    # propagation) would print its lines in another format: they go through the root's too.
    for name in _SERVER_LOGGERS:
        server = logging.getLogger(name)
        for handler in list(server.handlers):
            server.removeHandler(handler)
        server.propagate = True
