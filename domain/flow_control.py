"""What crosses the Temporal boundary for a flow-wide pause, resume or stop: the
operation's input (also what continue-as-new carries), its progress, and the page
activity's request and result."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

FlowSignal = Literal["pause", "resume", "stop"]


def flow_control_workflow_id(flow_id: str, signal: str, operation_id: str) -> str:
    return f"flow-control/{flow_id}/{signal}/{operation_id}"


class FlowControlInput(BaseModel):
    flow_id: str
    signal: FlowSignal
    reason: str | None = None
    while_status: str | None = Field(
        default=None,
        description="Started by a flow status "
        "change (paused, published, archived): the operation "
        "stops once the flow has another status, so a pause "
        "and a resume started close together cannot both win.",
    )
    page_size: int = Field(default=200, ge=1, le=1000)
    cursor: str = Field(default="", description="The last workflow id handled.")
    signalled: int = 0
    pages: int = 0


class FlowControlProgress(BaseModel):
    workflow_id: str
    flow_id: str
    signal: FlowSignal
    status: Literal["running", "completed"]
    signalled: int = Field(description="Journeys that got the signal so far.")
    pages: int


class FlowPageRequest(BaseModel):
    flow_id: str
    signal: FlowSignal
    reason: str | None = None
    while_status: str | None = None
    after: str
    limit: int


class FlowPageResult(BaseModel):
    signalled: int
    next_after: str | None = Field(description="None: that was the last page.")
