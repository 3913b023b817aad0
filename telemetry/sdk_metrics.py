"""The Temporal SDK's own metrics (workflow task latency, schedule-to-start, slots,
pollers), served by the SDK's core in Prometheus format on temporal_metrics_port.

A Temporal Runtime owns that port, so there is one per process, made on first use and
shared by every client the process connects."""

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from telemetry.sdk_logs import core_logging

_runtimes: dict[int, Runtime] = {}


def runtime_for(settings) -> Runtime | None:
    """None (the SDK's default runtime, no metrics served) when no port is set."""
    port = settings.temporal_metrics_port
    if port is None:
        return None
    if port not in _runtimes:
        _runtimes[port] = Runtime(telemetry=TelemetryConfig(
            logging=core_logging(), metrics=PrometheusConfig(bind_address=f"0.0.0.0:{port}")))
    return _runtimes[port]
