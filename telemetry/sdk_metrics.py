"""The Temporal SDK's runtime: its own metrics (workflow task latency, schedule-to-start,
slots, pollers), served by the SDK's core in Prometheus format on temporal_metrics_port,
and its core's log lines, forwarded to Python's logging.

The core (Rust) writes its warnings ("Temporal Server 1.16.0 or newer is required...")
straight to the process's stdout otherwise: in the middle of a CLI command's output, and
as plain text between a JSON deployment's lines. Forwarded, they go through the handler
telemetry/logs.py sets up, like every other line.

A Temporal Runtime owns that port, so there is one per process, made on first use and
shared by every client the process connects.

Every runtime made here is released at exit, before the interpreter finalizes: left to
finalization, a runtime's core threads (a connection's last callbacks, the log
forwarder) can take the GIL of an interpreter that is going away, and the process
aborts ("Fatal Python error: PyGILState_Release", exit status 134) after its work is
done."""

import atexit
import gc
import logging

import temporalio.runtime
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

CORE_LOGGER = "temporalio.core"

_runtimes: dict[int, Runtime] = {}
# By the core's level (default runtimes made here), and "simulation".
_forwarding: dict[str, Runtime] = {}


def _made(telemetry: TelemetryConfig) -> Runtime:
    if not _runtimes and not _forwarding:
        atexit.register(release_runtimes)
    return Runtime(telemetry=telemetry)


def release_runtimes() -> None:
    """Drop this process's runtimes while Python is whole (at exit, see above): their
    core runtimes shut down with the GIL released, as the SDK's bridge does when one is
    dropped then. Clients still held elsewhere keep theirs alive."""
    _runtimes.clear()
    _forwarding.clear()
    forget_default_runtime(getattr(temporalio.runtime, "_runtime_ref", None))
    gc.collect()


_log = logging.getLogger(__name__)
_unforgettable: list[str] = []  # the warning below, once per process


def forget_default_runtime(holder: object) -> None:
    """The SDK has no public way to forget its default runtime (set_default only replaces
    it), so this clears the private slot its `_runtime_ref` keeps it in (temporalio
    pinned in pyproject.toml; tests/telemetry/test_sdk_runtime_release.py fails if an
    upgrade moves it). Where the slot is gone the default runtime is left to
    finalization, as before this release existed, and a warning says so once."""
    if hasattr(holder, "_default_runtime"):
        holder._default_runtime = None
        return
    if not _unforgettable:
        _unforgettable.append("warned")
        _log.warning(
            "the Temporal SDK keeps its default runtime elsewhere than "
            "temporalio.runtime._runtime_ref._default_runtime; it is not released "
            "at exit (see telemetry/sdk_metrics.py)"
        )


def core_logging(core_level: str = "WARN") -> LoggingConfig:
    """The core's warnings and errors (its info lines are per task), to CORE_LOGGER; the
    core's target (which part of it spoke) stays at the start of the message."""
    return LoggingConfig(
        filter=TelemetryFilter(core_level=core_level, other_level="ERROR"),
        forwarding=LogForwardingConfig(logging.getLogger(CORE_LOGGER), append_target_to_name=False),
    )


def forward_core_logs(core_level: str = "WARN") -> None:
    """The default runtime (every client, worker, replayer and test environment made
    without a runtime of its own, from now on) forwards the core's lines from
    `core_level` up to logging. Made once: each runtime starts a thread pool of its own."""
    if core_level not in _forwarding:
        _forwarding[core_level] = _made(TelemetryConfig(logging=core_logging(core_level)))
    Runtime.set_default(_forwarding[core_level], error_if_already_set=False)


# The time-skipping test server (a simulation's) advertises no capabilities, so the
# core warns, once per worker, that heartbeat details may be lost: nothing a simulation
# uses, so nothing the person running it should read. Only this line is dropped.
KNOWN_HARMLESS_TEST_SERVER_LINE = "Temporal Server 1.16.0 or newer is required"
SIMULATION_CORE_LOGGER = f"{CORE_LOGGER}.simulation"


class _KnownHarmless(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return KNOWN_HARMLESS_TEST_SERVER_LINE not in record.getMessage()


def simulation_runtime() -> Runtime:
    """The runtime of simulations' test servers: the core's lines forwarded like every
    other runtime's (to a child of CORE_LOGGER), but for the known-harmless one above."""
    if "simulation" not in _forwarding:
        logger = logging.getLogger(SIMULATION_CORE_LOGGER)
        logger.addFilter(_KnownHarmless())
        _forwarding["simulation"] = _made(
            TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger, append_target_to_name=False),
                )
            )
        )
    return _forwarding["simulation"]


def runtime_for(settings) -> Runtime | None:
    """None (the SDK's default runtime, no metrics served) when no port is set."""
    port = settings.temporal_metrics_port
    if port is None:
        return None
    if port not in _runtimes:
        _runtimes[port] = _made(
            TelemetryConfig(
                logging=core_logging(), metrics=PrometheusConfig(bind_address=f"0.0.0.0:{port}")
            )
        )
    return _runtimes[port]
