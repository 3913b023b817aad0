"""Signalling a journey that may have ended: the one place that treats NOT_FOUND as
"no running journey" rather than an error."""

from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode


async def signal_if_running(client: Client, workflow_id: str, signal: str, *args: Any,
                            rpc_timeout: timedelta | None = None) -> bool:
    """Signal the latest run of `workflow_id` (by id alone, so a journey that continued
    as new still gets it); False if it has no running journey."""
    try:
        await client.get_workflow_handle(workflow_id).signal(signal, *args,
                                                             rpc_timeout=rpc_timeout)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return False
    return True
