"""POST /v1/flows/{flow_id}/enrollments: enroll a contact by hand in the live version,
skipping the trigger's filters (for testing a flow on a real contact) [004]."""

import uuid

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.contacts import contact_exists
from api.deps import client_of, engine_of
from api.errors import responses
from api.flows import FlowIdPath
from domain.flow import Flow
from domain.identifiers import ContactId
from projections.flow_lifecycle import manual_enrollment_flow
from routing.router import Router

router = APIRouter(prefix="/v1/flows", tags=["enrollments"])


class EnrollmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: ContactId = Field(description="A contact the API already knows.")


class Enrolled(BaseModel):
    workflow_id: str = Field(description="The journey's Temporal workflow id.")
    outcome: str = Field(description="Always `enrolled` (a refusal is a 409).")


@router.post(
    "/{flow_id}/enrollments",
    status_code=201,
    response_model=Enrolled,
    responses=responses(404, 409, 503),
    summary="Enroll a contact by hand, bypassing the trigger's filters",
)
async def enroll(flow_id: FlowIdPath, body: EnrollmentRequest, request: Request) -> Enrolled:
    """404 for an unknown flow or contact; 409 when the flow is not published, does not
    allow manual enrollment, or its re-entry policy keeps the contact's earlier journey."""
    client = client_of(request, "enroll contacts")
    engine = engine_of(request)
    flow = await run_in_threadpool(_flow_for, engine, flow_id, body.contact_id)
    router_ = request.app.state.router or Router(
        client,
        engine,
        request.app.state.settings.task_queue,
        local_sends=request.app.state.settings.local_sends,
    )
    routed = await router_.enroll(flow, body.contact_id, f"manual-{uuid.uuid4()}", None)
    if routed.outcome != "enrolled":
        raise HTTPException(
            409,
            detail=(
                f"contact {body.contact_id!r} already has a journey in flow {flow_id!r} and the "
                f"flow's re-entry policy ({flow.re_entry.value}) does not start another "
                f"(journey {routed.workflow_id})"
            ),
        )
    return Enrolled(workflow_id=routed.workflow_id, outcome=routed.outcome)


def _flow_for(engine: Engine, flow_id: str, contact_id: str) -> Flow:
    with engine.connect() as conn:
        flow = manual_enrollment_flow(conn, flow_id)  # unknown flow: 404, refusals: 409
    if not contact_exists(engine, contact_id):
        raise HTTPException(
            404,
            detail=f"there is no contact {contact_id!r}; send an event "
            "or PUT /v1/contacts/{contact_id} first",
        )
    return flow
