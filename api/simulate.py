"""POST /v1/flows/{flow_id}/simulate: play a flow for one contact (a timeline) or a
sample of its audience (counts per step) on a time-skipping test server of its own,
against a throwaway copy of the contacts' data; nothing is sent (simulation/)."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import engine_of, known_scripts_of, settings_of
from api.errors import responses
from domain.identifiers import ContactId, FlowId
from simulation.sample import SampleReport
from simulation.scenario import (
    MAX_DAYS,
    MAX_EVENTS,
    MAX_SAMPLE,
    ScheduledEvent,
    SimulationRefused,
    UnknownContact,
    check_events,
)
from simulation.service import simulate_flow
from simulation.timeline import JourneyTimeline

router = APIRouter(prefix="/v1/flows", tags=["flows"])


class SimulateRequest(BaseModel):
    # A misspelt field (`day`, `contact`) must not silently play the default instead.
    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(
        default=None, ge=1, description="A published version " "(default: the live one)."
    )
    draft: bool = Field(default=False, description="Play the saved draft instead.")
    contact_id: ContactId | None = Field(
        default=None, description="The contact to play " "the flow for (or give `sample`)."
    )
    sample: int | None = Field(
        default=None,
        ge=1,
        le=MAX_SAMPLE,
        description="Play this " "many contacts drawn from the flow's audience.",
    )
    events: list[ScheduledEvent] = Field(
        default_factory=list,
        max_length=MAX_EVENTS,
        description="Injected that long after enrollment.",
    )
    days: int = Field(default=30, ge=1, le=MAX_DAYS, description="Virtual days to play.")

    @model_validator(mode="after")
    def _one_of_each(self) -> "SimulateRequest":
        if self.draft and self.version is not None:
            raise ValueError("give a version or draft: true, not both")
        if self.contact_id is not None and self.sample is not None:
            raise ValueError("give contact_id or sample, not both")
        if self.contact_id is None and self.sample is None:
            raise ValueError(
                "give contact_id (one contact) or sample (a sample of the " "flow's audience)"
            )
        return self


# Each simulation starts a time-skipping test server of its own (a JVM): one at a time
# per API process, so a burst of requests queues instead of exhausting the host.
_ONE_AT_A_TIME = asyncio.Semaphore(1)


@router.post(
    "/{flow_id}/simulate",
    response_model=JourneyTimeline | SampleReport,
    response_model_exclude_none=True,
    responses=responses(404, 409, 503),
    summary="Simulate a flow for a contact or a sample of its audience",
)
async def simulate(
    request: Request,
    body: SimulateRequest,
    flow_id: Annotated[FlowId, Path(description="The flow's id.")],
):
    """A contact's timeline (virtual times in its zone, each step's outcome and message,
    each wait, the ending), or with `sample` per step how many reach it and get each
    message. Providers, webhooks and scripts are never called; the database is only read."""
    settings = settings_of(request)
    # Types and payloads as POST /v1/events checks them: 422 naming events[i].payload...
    check_events(
        [e.model_dump(mode="json") for e in body.events],
        body.days,
        phone_region=settings.phone_default_region,
    )
    try:
        async with _ONE_AT_A_TIME:
            return await simulate_flow(
                settings,
                engine_of(request),
                flow_id,
                version=body.version,
                draft=body.draft,
                contact_id=body.contact_id,
                sample=body.sample,
                events=body.events,
                days=body.days,
                known_scripts=known_scripts_of(request),
            )
    except UnknownContact as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except SimulationRefused as exc:
        if exc.field == "DRIPSTONE_TEST_SERVER_BIN":
            raise HTTPException(503, detail=str(exc)) from None
        raise HTTPException(409, detail=str(exc)) from None
