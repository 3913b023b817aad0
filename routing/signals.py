"""Talking to one journey that may have ended: the one place that reads NOT_FOUND as "no
such run" rather than an error. A NOT_FOUND about the namespace is a configuration
error, not a finished journey: it is raised, so routing retries instead of marking
every journey it touches as ended."""

from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowExecutionDescription
from temporalio.service import RPCError, RPCStatusCode


def _gone(exc: RPCError) -> bool:
    if exc.status != RPCStatusCode.NOT_FOUND:
        return False
    details = exc.grpc_status.details if exc.grpc_status is not None else []
    return not any(d.type_url.endswith("NamespaceNotFoundFailure") for d in details)


async def signal_if_running(
    client: Client, workflow_id: str, signal: str, *args: Any, rpc_timeout: timedelta | None = None
) -> bool:
    """Signal the latest run of `workflow_id` (by id alone, so a journey that continued
    as new still gets it); False if it has no running journey."""
    try:
        await client.get_workflow_handle(workflow_id).signal(signal, *args, rpc_timeout=rpc_timeout)
    except RPCError as exc:
        if not _gone(exc):
            raise
        return False
    return True


async def describe_if_any(
    client: Client, workflow_id: str, rpc_timeout: timedelta | None = None
) -> WorkflowExecutionDescription | None:
    """The latest run under `workflow_id`, open or closed; None if there never was one
    (or Temporal has forgotten it, past its retention)."""
    try:
        return await client.get_workflow_handle(workflow_id).describe(rpc_timeout=rpc_timeout)
    except RPCError as exc:
        if not _gone(exc):
            raise
        return None


def is_running(description: WorkflowExecutionDescription | None) -> bool:
    return (
        description is not None
        and description.status is not None
        and description.status.name == "RUNNING"
    )
