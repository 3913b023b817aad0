"""structlog for the worker, API and CLI processes: JSON lines in production
(log_format=json), readable ones in a terminal, and the current trace and span ids in
every line written inside a span, so a log line leads to its trace.

The standard library's loggers (Temporal's SDK, uvicorn, SQLAlchemy) go through the same
renderer, and so does the SDK's Rust core (forwarded to the "temporalio.core" logger,
telemetry/sdk_metrics.py), so a JSON deployment never gets a plain line in between.
The worker and the API log to stdout; the CLI to stderr, its stdout being the
commands' output (tables, --json documents)."""

import logging
import sys
from typing import Literal

import structlog
from opentelemetry import trace

from telemetry.sdk_metrics import forward_core_logs


def current_ids() -> tuple[str, str] | None:
    """The current span's trace and span ids as hex, or None outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def add_trace_ids(_logger, _method: str, event_dict: dict) -> dict:
    ids = current_ids()
    if ids is not None:
        event_dict.setdefault("trace_id", ids[0])
        event_dict.setdefault("span_id", ids[1])
    return event_dict


def shared_processors() -> list:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_ids,
    ]


def renderer(log_format: str):
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())


class _StreamNow(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout (or sys.stderr) is when a line is written, not when
    logging was set up: a process (or a test runner) may swap it afterwards and close
    the old one."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name_in_sys = name

    @property  # type: ignore[override]
    def stream(self):
        return getattr(sys, self.name_in_sys)

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(settings, stream=None, to: Literal["stdout", "stderr"] = "stdout") -> None:
    """`to`: where lines go (`stream` instead, when a test gives its own). Also sends the
    Temporal SDK core's log lines here, for every client and worker made from now on
    with the default runtime."""
    level = logging.getLevelName(settings.log_level.upper())
    render = renderer(settings.log_format)
    exceptions = [structlog.processors.dict_tracebacks] if settings.log_format == "json" else []
    structlog.configure(
        processors=[*shared_processors(), *exceptions, render],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Without a stream of its own, each logger takes sys.stdout (or stderr) as it is then.
        logger_factory=(
            structlog.PrintLoggerFactory(stream)
            if stream is not None
            else lambda *_args: structlog.PrintLogger(getattr(sys, to))
        ),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream) if stream is not None else _StreamNow(to)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared_processors(), *exceptions],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, render],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    # Alembic narrates every schema check at INFO ("Context impl SQLiteImpl."); a process
    # only checks the revision at start, and says so itself when it refuses.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
    # httpx logs every request's full URL at INFO: webhook URLs carry rendered merge tags
    # (an address in a query string), attachment URLs signed parameters.
    # uvicorn's access line (when it is run directly, not by `dripstone api`): the raw
    # path and the client's address; telemetry/http.py logs requests by route instead.
    for name in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    forward_core_logs()
