"""GET /v1/contacts/{contact_id}/journeys: every journey of a contact, found through
Temporal visibility, with the state each running journey reports (its trail)."""

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.contacts import ContactIdPath, contact_exists
from api.deps import client_of, engine_of
from api.errors import responses
from cli.journeys import list_journeys

router = APIRouter(prefix="/v1/contacts", tags=["journeys"])


class JourneyOut(BaseModel):
    workflow_id: str = Field(description="Temporal workflow id (journey/<flow>/<contact>...).")
    flow_id: str
    flow_version: int | None = Field(description="The flow version the journey runs.")
    status: str = Field(description="The journey's own status: running, waiting, paused, "
                        "completed, exited, ...")
    execution_status: str = Field(description="Temporal's: running, completed, terminated, ...")
    current_step: str = Field(description="Step the journey is at (or ended on).")
    trail: list[str] = Field(description="'step: outcome' for each step taken, oldest first.")


class ContactJourneys(BaseModel):
    contact_id: str
    journeys: list[JourneyOut]


@router.get("/{contact_id}/journeys", response_model=ContactJourneys, responses=responses(404, 503),
            summary="A contact's journeys and where each one is")
async def contact_journeys(contact_id: ContactIdPath, request: Request) -> ContactJourneys:
    client = client_of(request, "list journeys")
    if not await run_in_threadpool(contact_exists, engine_of(request), contact_id):
        raise HTTPException(404, detail=f"there is no contact {contact_id!r}")
    rows = await list_journeys(client, contact_id=contact_id)
    return ContactJourneys(contact_id=contact_id, journeys=[
        JourneyOut(workflow_id=r.workflow_id, flow_id=r.flow_id, flow_version=r.flow_version,
                   status=r.status, execution_status=r.execution_status,
                   current_step=r.current_step, trail=r.trail)
        for r in rows])
