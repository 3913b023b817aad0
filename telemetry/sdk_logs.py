"""The Temporal SDK core's own log lines (written by its Rust side, by default as plain
text straight onto file descriptor 1) forwarded to Python's logging instead: in the API
and the worker they are rendered like every other line (telemetry/logs.py, JSON in
production), and in the CLI they go to stderr (logging's last-resort handler), so
`--json` output on stdout stays JSON. Example: the time-skipping test server a
simulation starts does not advertise a capability, and core warns "Temporal Server
1.16.0 or newer is required..." when a worker starts on it.

A Temporal Runtime is one per process and heavy (threads of its own): made on first
use, shared by every client that does not need one with metrics (sdk_metrics.py)."""

import logging

from temporalio.runtime import (
    LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter,
)

CORE_LOGGER = "temporalio.core"

_runtime: list[Runtime] = []


def core_logging() -> LoggingConfig:
    """The SDK's default levels (core WARN, the rest ERROR), forwarded to CORE_LOGGER."""
    return LoggingConfig(filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                         forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)))


def forwarding_runtime() -> Runtime:
    if not _runtime:
        _runtime.append(Runtime(telemetry=TelemetryConfig(logging=core_logging())))
    return _runtime[0]
