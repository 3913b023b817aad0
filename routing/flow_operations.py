"""Starting and following flow-wide pause, resume and stop (FlowControlWorkflow)."""

import uuid
from datetime import timedelta

from temporalio.client import Client

from domain.flow_control import (
    FlowControlInput,
    FlowControlProgress,
    flow_control_workflow_id,
)

FLOW_CONTROL_WORKFLOW = "FlowControlWorkflow"


async def start_flow_control(
    client: Client,
    flow_id: str,
    signal: str,
    reason: str | None,
    task_queue: str,
    rpc_timeout: timedelta = timedelta(seconds=10),
    while_status: str | None = None,
) -> str:
    workflow_id = flow_control_workflow_id(flow_id, signal, uuid.uuid4().hex[:12])
    await client.start_workflow(
        FLOW_CONTROL_WORKFLOW,
        FlowControlInput(flow_id=flow_id, signal=signal, reason=reason, while_status=while_status),
        id=workflow_id,
        task_queue=task_queue,
        rpc_timeout=rpc_timeout,
        static_summary=f"{signal} every journey of flow {flow_id}",
    )
    return workflow_id


async def flow_control_progress(
    client: Client, workflow_id: str, rpc_timeout: timedelta | None = None
) -> FlowControlProgress:
    handle = client.get_workflow_handle(workflow_id, result_type=FlowControlProgress)
    description = await handle.describe(rpc_timeout=rpc_timeout)
    if description.status is not None and description.status.name == "COMPLETED":
        return await handle.result(rpc_timeout=rpc_timeout)
    return await handle.query("progress", result_type=FlowControlProgress, rpc_timeout=rpc_timeout)


async def wait_for_flow_control(client: Client, workflow_id: str) -> FlowControlProgress:
    return await client.get_workflow_handle(workflow_id, result_type=FlowControlProgress).result()
