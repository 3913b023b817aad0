"""structlog for the worker and API processes: JSON lines in production (log_format=json),
readable ones in a terminal, and the current trace and span ids in every line written
inside a span, so a log line leads to its trace.

The standard library's loggers (Temporal's SDK, uvicorn, SQLAlchemy) go through the same
renderer, so a JSON deployment never gets a plain line in between."""

import logging
import sys

import structlog

from telemetry.tracing import current_ids


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


class _StdoutNow(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stdout is when a line is written, not when logging was set
    up: a process (or a test runner) may swap stdout afterwards and close the old one."""

    @property  # type: ignore[override]
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(settings, stream=None) -> None:
    """`stream`: where lines go (stdout unless a test gives its own)."""
    level = logging.getLevelName(settings.log_level.upper())
    render = renderer(settings.log_format)
    exceptions = ([structlog.processors.dict_tracebacks] if settings.log_format == "json"
                  else [])
    structlog.configure(
        processors=[*shared_processors(), *exceptions, render],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Without a stream of its own, each logger takes sys.stdout as it is then.
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream) if stream is not None else _StdoutNow()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared_processors(), *exceptions],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, render]))
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
