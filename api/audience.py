"""/v1/flows/{flow_id}/audience and /v1/flows/{flow_id}/backfill: who a flow would
enroll among existing contacts (the preview before publishing [004]), and the
"enroll existing" backfill that enrolls them (routing.backfills)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import client_of, engine_of, settings_of
from api.errors import responses
from api.flows import FlowIdPath
from domain.backfill import BackfillProgress
from domain.flow import Flow, FlowStatus
from domain.validation import errors, parse_flow
from projections.audience import preview
from projections.contacts import known_fields
from projections.flow_catalogue import get_flow, get_version
from routing.backfills import backfill_progress, start_backfill

router = APIRouter(prefix="/v1/flows", tags=["audience"])


class AudienceContact(BaseModel):
    contact_id: str
    email: str | None
    phone: str | None


class AudienceOut(BaseModel):
    flow_id: str
    version: int | None = Field(description="The version previewed; null for the draft.")
    count: int = Field(
        description="Contacts who had an event matching the trigger's event and "
        "filters and satisfy its condition now: who a backfill would enroll."
    )
    contacts: list[AudienceContact] = Field(description="The first of them, by contact id.")


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate_per_second: float | None = Field(
        default=None,
        gt=0,
        le=10_000,
        description="Enrollments per second at most; null: the "
        "server's default (DRIPSTONE_BACKFILL_RATE_PER_SECOND).",
    )


@router.get(
    "/{flow_id}/audience",
    response_model=AudienceOut,
    responses=responses(404, 409),
    summary="Preview the contacts a flow would enroll among existing ones",
)
def audience(
    flow_id: FlowIdPath,
    request: Request,
    limit: Annotated[int, Query(ge=0, le=1000, description="Contacts to list.")] = 20,
    version: Annotated[
        Literal["live", "draft"],
        Query(description="The live version, or the saved draft (before publishing)."),
    ] = "live",
):
    engine = engine_of(request)
    flow = _flow_to_preview(
        engine, flow_id, version, settings_of(request).webhook_allow_private_targets
    )
    if isinstance(flow, JSONResponse):
        return flow
    # Runs in the threadpool (a plain def route): counting streams every page.
    found = preview(engine, flow, limit)
    return AudienceOut(
        flow_id=flow_id,
        version=flow.version if version == "live" else None,
        count=found.count,
        contacts=[AudienceContact(**c) for c in found.contacts],
    )


def _flow_to_preview(
    engine: Engine, flow_id: str, version: str, allow_private_targets: bool
) -> Flow | JSONResponse:
    """The flow to preview, or the 409 saying why there is none."""
    with engine.connect() as conn:
        record = get_flow(conn, flow_id)  # 404 for an unknown flow
        if version == "live":
            if record.current_version == 0:
                return JSONResponse(
                    {
                        "detail": (
                            f"flow {flow_id!r} has no published version yet; preview its draft with "
                            "version=draft"
                        )
                    },
                    409,
                )
            return get_version(conn, flow_id, record.current_version)
        if record.draft is None:
            raise HTTPException(404, detail=f"flow {flow_id!r} has no unpublished draft")
        flow, problems = parse_flow(
            record.draft, known_fields(conn), allow_private_targets=allow_private_targets
        )
    blocking = errors(problems)
    if flow is None or blocking:
        return JSONResponse(
            {
                "detail": f"the draft of flow {flow_id!r} has errors; fix them to preview its audience",
                "problems": [p.model_dump(mode="json") for p in blocking],
            },
            409,
        )
    return flow


@router.post(
    "/{flow_id}/backfill",
    status_code=202,
    response_model=BackfillProgress,
    responses=responses(404, 409, 503),
    summary="Enroll the live version's existing audience (a backfill)",
)
async def start(
    flow_id: FlowIdPath, request: Request, body: Annotated[BackfillRequest | None, Body()] = None
) -> BackfillProgress:
    """Starting it again while it runs, or after it completed, returns that backfill;
    a cancelled one resumes where it stopped."""
    body = body or BackfillRequest()
    settings = settings_of(request)
    flow = await run_in_threadpool(_live_flow, engine_of(request), flow_id)
    client = client_of(request, "start a backfill")
    workflow_id = await start_backfill(
        client,
        flow,
        task_queue=settings.task_queue,
        rate_per_second=body.rate_per_second or settings.backfill_rate_per_second,
        page_size=settings.backfill_page_size,
    )
    return await backfill_progress(client, flow.id, flow.version) or BackfillProgress(
        workflow_id=workflow_id,
        flow_id=flow.id,
        version=flow.version,
        status="running",
        scanned=0,
        enrolled=0,
        skipped=0,
        total=None,
        cursor=None,
    )


def _live_flow(engine: Engine, flow_id: str) -> Flow:
    with engine.connect() as conn:
        record = get_flow(conn, flow_id)
        if record.status == FlowStatus.ARCHIVED:
            raise HTTPException(409, detail=f"flow {flow_id!r} is archived; it enrolls no one")
        if record.current_version == 0:
            raise HTTPException(409, detail=f"flow {flow_id!r} has no published version yet")
        return get_version(conn, flow_id, record.current_version)


@router.get(
    "/{flow_id}/backfill",
    response_model=BackfillProgress,
    responses=responses(404, 503),
    summary="Progress of the flow's backfill",
)
async def progress(flow_id: FlowIdPath, request: Request) -> BackfillProgress:
    """The live version's backfill, or else the newest version's that had one."""
    record = await run_in_threadpool(_record, engine_of(request), flow_id)
    client = client_of(request, "read a backfill's progress")
    found = None
    if record.current_version:
        found = await backfill_progress(client, flow_id, record.current_version)
    found = found or await backfill_progress(client, flow_id)
    if found is None:
        raise HTTPException(404, detail=f"flow {flow_id!r} has no backfill")
    return found


def _record(engine: Engine, flow_id: str):
    with engine.connect() as conn:
        return get_flow(conn, flow_id)
