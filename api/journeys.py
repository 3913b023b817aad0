"""A contact's journeys: listed from the journey index (so the answer needs neither a
worker nor Temporal), with what each journey reports of itself when Temporal answers;
and pause, resume or stop of one contact's journeys in a flow (every re-entry suffix)
or in every flow.

GET /v1/contacts/{contact_id}/journeys
POST /v1/contacts/{contact_id}/journeys/{action}            every live journey
POST /v1/contacts/{contact_id}/journeys/{flow_id}/{action}  the live journeys in one flow
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.contacts import ContactIdPath, contact_exists
from api.deps import client_of, client_or_none, engine_of, settings_of
from api.errors import responses
from api.flows import FlowIdPath
from domain.journey import JourneyState
from domain.journey_waiting import WaitView
from domain.scheduling.zones import Zones
from projections import journey_index as index
from routing.journey_now import RetryView, journeys_now

router = APIRouter(prefix="/v1/contacts", tags=["journeys"])

# How long the journeys route waits for the journeys' own answers before leaving them out.
DETAILS_WITHIN = timedelta(seconds=3)


class JourneyAction(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


ActionPath = Annotated[
    JourneyAction,
    Path(description="pause: hold where it is; resume: " "release a held journey; stop: end it."),
]


class JourneyDetails(BaseModel):
    status: str = Field(
        description="The journey's own status: running, waiting, paused, " "completed, exited, ..."
    )
    current_step: str | None = Field(description="Step the journey is at (or ended on).")
    trail: list[str] = Field(description="'step: outcome' for each step taken, oldest first.")
    trail_codes: list[str | None] = Field(
        default_factory=list,
        description="Each trail "
        "entry's outcome, machine-readable (sent, done, "
        "skipped:<reason>, failed:<reason>, waited, branched, "
        "converted...); null for entries older than codes.",
    )
    exit_reason: str | None = None
    waiting: WaitView | None = Field(
        default=None,
        description="The wait it is in now: why, "
        "and until when in UTC and in the contact's zone.",
    )
    retrying: RetryView | None = Field(
        default=None,
        description="A step Temporal is " "retrying (e.g. a failing webhook), with the last error.",
    )


class JourneyOut(BaseModel):
    workflow_id: str = Field(
        description="Temporal workflow id: journey/<flow>/<contact>, with "
        "an enrollment suffix under re_entry always."
    )
    flow_id: str
    flow_version: int = Field(description="The flow version the journey runs.")
    status: Literal["running", "paused", "ended"] = Field(
        description="From the journey index: running (or waiting), paused, or ended."
    )
    started_at: datetime
    ended_at: datetime | None
    details: JourneyDetails | None = Field(
        default=None,
        description="What the journey reports itself (its state query): only "
        "when Temporal is connected and the journey answered in time; null otherwise.",
    )


class ContactJourneys(BaseModel):
    contact_id: str
    journeys: list[JourneyOut] = Field(description="Newest first.")


class ControlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(
        default=None, max_length=500, description="Why (stop only; the journey's exit reason)."
    )


class JourneysControlled(BaseModel):
    contact_id: str
    flow_id: str | None = Field(description="Null: every flow the contact is in.")
    action: JourneyAction
    journeys_signalled: int = Field(description="Live journeys that got the signal.")


@router.get(
    "/{contact_id}/journeys",
    response_model=ContactJourneys,
    responses=responses(404),
    summary="A contact's journeys and where each one is",
)
async def contact_journeys(
    contact_id: ContactIdPath,
    request: Request,
    details: Annotated[
        bool,
        Query(
            description="Also ask each journey where it is (needs "
            "Temporal; left out when it does not answer)."
        ),
    ] = True,
) -> ContactJourneys:
    """Answered from the journey index, so it works while Temporal or the worker is
    down; `details` come from the journeys themselves when Temporal answers."""
    engine = engine_of(request)
    rows = await run_in_threadpool(_journeys, engine, contact_id)
    if not rows and not await run_in_threadpool(contact_exists, engine, contact_id):
        raise HTTPException(404, detail=f"there is no contact {contact_id!r}")
    client = client_or_none(request)
    states: dict[str, JourneyState | None] = {}
    if details and client is not None and rows:
        # Imported here: only this route (and the CLI) reads journeys from Temporal.
        from routing.journey_views import journey_states

        # Ended journeys too: their trail says what happened to the contact (each is a
        # replay on a worker; `?details=false` skips them all).
        states = await journey_states(client, [r.workflow_id for r in rows], DETAILS_WITHIN)
    now = await _now_of(
        request,
        client,
        [r for r in rows if states.get(r.workflow_id) is not None and r.status != "ended"],
        states,
    )
    return ContactJourneys(
        contact_id=contact_id,
        journeys=[
            JourneyOut(
                workflow_id=r.workflow_id,
                flow_id=r.flow_id,
                flow_version=r.flow_version,
                status=r.status,
                started_at=r.started_at,
                ended_at=r.ended_at,
                details=_details(states.get(r.workflow_id), *now.get(r.workflow_id, ())),
            )
            for r in rows
        ],
    )


async def _now_of(
    request: Request,
    client,
    live: list[index.IndexedJourney],
    states: dict[str, JourneyState | None],
) -> dict[str, tuple]:
    """workflow id -> (wait, retry) for the live journeys that answered."""
    return await journeys_now(
        engine_of(request),
        client,
        Zones.from_settings(settings_of(request)),
        [
            (r.workflow_id, r.flow_id, r.flow_version, r.contact_id, states[r.workflow_id])
            for r in live
        ],
    )


def _journeys(engine: Engine, contact_id: str) -> list[index.IndexedJourney]:
    with engine.connect() as conn:
        return index.for_contact(conn, contact_id)


def _details(
    state: JourneyState | None, waiting: WaitView | None = None, retrying: RetryView | None = None
) -> JourneyDetails | None:
    if state is None:
        return None
    from routing.journey_views import trail_of

    return JourneyDetails(
        status=state.status.value,
        current_step=state.current_step,
        trail=trail_of(state),
        trail_codes=[v.code for v in state.trail],
        exit_reason=state.exit_reason,
        waiting=waiting,
        retrying=retrying,
    )


@router.post(
    "/{contact_id}/journeys/{action}",
    response_model=JourneysControlled,
    responses=responses(404, 503),
    summary="Pause, resume or stop every live journey of a contact",
)
async def control_everywhere(
    contact_id: ContactIdPath,
    action: ActionPath,
    request: Request,
    body: Annotated[ControlRequest | None, Body()] = None,
) -> JourneysControlled:
    """Every running or paused journey of the contact, in every flow. A known contact
    with no live journey answers 0; an unknown one 404."""
    controls = _controls(request, action)
    count = await controls.signal_contact_everywhere(contact_id, action.value, _reason(body))
    if not count and not await run_in_threadpool(_known, engine_of(request), contact_id):
        raise HTTPException(404, detail=f"there is no contact {contact_id!r}")
    return JourneysControlled(
        contact_id=contact_id, flow_id=None, action=action, journeys_signalled=count
    )


@router.post(
    "/{contact_id}/journeys/{flow_id}/{action}",
    response_model=JourneysControlled,
    responses=responses(404, 503),
    summary="Pause, resume or stop a contact's journeys in one flow",
)
async def control_in_flow(
    contact_id: ContactIdPath,
    flow_id: FlowIdPath,
    action: ActionPath,
    request: Request,
    body: Annotated[ControlRequest | None, Body()] = None,
) -> JourneysControlled:
    """Every live journey of the contact in the flow: one, or several under `re_entry:
    always`. 404 when the contact has none there."""
    controls = _controls(request, action)
    count = await controls.signal_contact(flow_id, contact_id, action.value, _reason(body))
    if not count:
        raise HTTPException(
            404, detail=f"contact {contact_id!r} has no live journey in flow " f"{flow_id!r}"
        )
    return JourneysControlled(
        contact_id=contact_id, flow_id=flow_id, action=action, journeys_signalled=count
    )


def _controls(request: Request, action: JourneyAction):
    from routing.controls import JourneyControls

    return JourneyControls(client_of(request, f"{action.value} journeys"), engine_of(request))


def _reason(body: ControlRequest | None) -> str | None:
    return body.reason if body is not None else None


def _known(engine: Engine, contact_id: str) -> bool:
    if contact_exists(engine, contact_id):
        return True
    with engine.connect() as conn:
        return bool(index.for_contact(conn, contact_id))
