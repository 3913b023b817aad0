"""GET /v1/operations/{workflow_id}: how far a flow-wide pause, resume or archive has
got (the FlowControlWorkflow that POST /v1/flows/{id}/pause, /resume and /archive
start and name as `operation_id`)."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from temporalio.service import RPCError, RPCStatusCode

from api.deps import client_of
from api.errors import responses
from domain.flow_control import FlowControlProgress
from routing.flow_operations import flow_control_progress

router = APIRouter(prefix="/v1/operations", tags=["operations"])

OPERATION_PREFIX = "flow-control/"
RPC_TIMEOUT = timedelta(seconds=10)

OperationIdPath = Annotated[
    str,
    Path(
        description="The operation_id a flow's pause, resume or "
        "archive answered (flow-control/<flow>/<signal>/<id>).",
        max_length=300,
    ),
]


@router.get(
    "/{workflow_id:path}",
    response_model=FlowControlProgress,
    responses=responses(404, 503),
    summary="Progress of a flow-wide operation",
)
async def operation(workflow_id: OperationIdPath, request: Request) -> FlowControlProgress:
    client = client_of(request, "follow operations")
    if not workflow_id.startswith(OPERATION_PREFIX):
        raise HTTPException(404, detail=f"there is no operation {workflow_id!r}")
    try:
        return await flow_control_progress(client, workflow_id, rpc_timeout=RPC_TIMEOUT)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(404, detail=f"there is no operation {workflow_id!r}") from None
        raise
