"""The Temporal client every Dripstone process (worker, API, CLI) connects with: the
configured address and namespace, and the data converter of codec.converter. Kept apart
from the worker's composition root so a command that only reads from Temporal does not
load every activity and workflow."""

from temporalio.client import Client

from codec.converter import data_converter
from telemetry.sdk_metrics import runtime_for
from telemetry.tracing import client_interceptors


async def connect(settings, lazy: bool = False, sdk_metrics: bool = False) -> Client:
    """`lazy`: connect on first use, so a process that takes events in (API, CLI) starts
    and stores them while Temporal is down; their dispatch records route them later.
    `sdk_metrics`: serve the SDK's metrics on temporal_metrics_port (the worker and API
    processes; a CLI command beside them on the same host must not take that port).
    With tracing on, starts and signals carry the caller's trace into the workflow."""
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=data_converter(settings), lazy=lazy,
                                interceptors=client_interceptors(settings),
                                runtime=runtime_for(settings) if sdk_metrics else None)
