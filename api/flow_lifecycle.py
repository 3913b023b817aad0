"""/v1/flows/{flow_id}/publish, /pause, /resume, /archive.

Status changes reach running journeys too, as `dripstone flow pause|resume|archive`
does: the catalogue changes first (so no new journey starts meanwhile), then every
running journey of the flow gets the signal. Publishing can start an "enroll
existing" backfill."""

from typing import Annotated

import structlog
from fastapi import APIRouter, Body, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError

from api.deps import client_of, client_or_none, engine_of, known_scripts_of, settings_of
from api.errors import responses
from api.flows import FlowIdPath
from domain.backfill import BackfillProgress
from domain.flow import Flow, FlowStatus
from projections import flow_lifecycle
from projections.flow_catalogue import get_flow, get_status
from routing.flow_operations import start_flow_control

log = structlog.get_logger("dripstone.api")
router = APIRouter(prefix="/v1/flows", tags=["flows"])
CONFLICTS = responses(404, 409)


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enroll_existing: bool | None = Field(
        default=None,
        description="Also enroll contacts who already match the trigger (a "
        "backfill). Null: as the flow's enrollment.existing_contacts says.",
    )
    rate_per_second: float | None = Field(
        default=None,
        gt=0,
        le=10_000,
        description="Pace of that backfill, in enrollments "
        "per second; null: the server's default (DRIPSTONE_BACKFILL_RATE_PER_SECOND).",
    )


class Published(BaseModel):
    flow_id: str
    version: int = Field(
        description="The live version now (unchanged when the draft was " "identical to it)."
    )
    status: FlowStatus = Field(description="Still paused when the flow was paused.")
    backfill: BackfillProgress | None = Field(
        description="Progress of the backfill started (GET /v1/flows/{flow_id}/backfill "
        "follows it); null when none was asked for or the flow is paused."
    )


class StatusChanged(BaseModel):
    flow_id: str
    status: FlowStatus
    operation_id: str | None = Field(
        description="The durable operation signalling the flow's live journeys (follow it "
        "with GET /v1/operations/{operation_id}); null when Temporal is not connected or "
        "could not be reached (the status changed all the same; retry with `dripstone "
        "journey pause|resume|stop FLOW --all`)."
    )


@router.post(
    "/{flow_id}/publish",
    response_model=Published,
    responses=responses(404, 409, 503),
    summary="Publish the saved draft as the next version",
)
async def publish(
    flow_id: FlowIdPath, request: Request, body: Annotated[PublishRequest | None, Body()] = None
) -> Published:
    body = body or PublishRequest()
    engine, settings = engine_of(request), settings_of(request)
    wanted = body.enroll_existing
    if wanted is None:
        wanted = await run_in_threadpool(_draft_asks_for_backfill, engine, flow_id)
    # Checked before publishing, so a refusal leaves nothing half done.
    client = client_of(request, "enroll existing contacts") if wanted else None
    flow, status = await run_in_threadpool(
        _publish_draft,
        engine,
        flow_id,
        settings.webhook_allow_private_targets,
        known_scripts_of(request),
        settings.topic_ids,
        settings.preference_links_enabled,
    )
    backfill = None
    if wanted and status == FlowStatus.PUBLISHED:
        # Imported here: only a publish that backfills needs the backfill workflow.
        from routing.backfills import backfill_progress, start_backfill

        try:
            workflow_id = await start_backfill(
                client,
                flow,
                task_queue=settings.task_queue,
                rate_per_second=body.rate_per_second or settings.backfill_rate_per_second,
                page_size=settings.backfill_page_size,
            )
            backfill = await backfill_progress(client, flow.id, flow.version)
        except (RPCError, RuntimeError) as exc:
            # The version is live already: retrying the publish would find nothing to
            # publish, so say how to start the backfill on its own.
            log.warning("flow.backfill_not_started", flow_id=flow.id, error=str(exc))
            raise HTTPException(
                503,
                detail=(
                    f"flow {flow.id!r} version {flow.version} is published, but its backfill could "
                    f"not be started (Temporal did not take it); start it with POST "
                    f"/v1/flows/{flow.id}/backfill"
                ),
            ) from None
        backfill = backfill or BackfillProgress(
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
    return Published(flow_id=flow.id, version=flow.version, status=status, backfill=backfill)


def _draft_asks_for_backfill(engine: Engine, flow_id: str) -> bool:
    with engine.connect() as conn:
        draft = get_flow(conn, flow_id).draft or {}
    enrollment = draft.get("enrollment")
    return isinstance(enrollment, dict) and enrollment.get("existing_contacts") is True


def _publish_draft(
    engine: Engine,
    flow_id: str,
    allow_private_targets: bool,
    known_scripts: frozenset[str] | None,
    known_topics: frozenset[str],
    preference_links: bool,
) -> tuple[Flow, FlowStatus]:
    with engine.begin() as conn:
        flow = flow_lifecycle.publish_draft(
            conn,
            flow_id,
            allow_private_targets=allow_private_targets,
            known_scripts=known_scripts,
            known_topics=known_topics,
            preference_links=preference_links,
        )
        return flow, get_status(conn, flow_id)


@router.post(
    "/{flow_id}/pause",
    response_model=StatusChanged,
    responses=CONFLICTS,
    summary="Stop enrolling and hold the flow's running journeys",
)
async def pause(flow_id: FlowIdPath, request: Request) -> StatusChanged:
    return await _transition(request, flow_id, "pause", "pause")


@router.post(
    "/{flow_id}/resume",
    response_model=StatusChanged,
    responses=CONFLICTS,
    summary="Enroll again and release held journeys",
)
async def resume(flow_id: FlowIdPath, request: Request) -> StatusChanged:
    return await _transition(request, flow_id, "resume", "resume")


@router.post(
    "/{flow_id}/archive",
    response_model=StatusChanged,
    responses=CONFLICTS,
    summary="Retire the flow for good and end its journeys",
)
async def archive(flow_id: FlowIdPath, request: Request) -> StatusChanged:
    return await _transition(request, flow_id, "archive", "stop")


async def _transition(request: Request, flow_id: str, action: str, signal: str) -> StatusChanged:
    status = await run_in_threadpool(_change, engine_of(request), action, flow_id)
    client, operation = client_or_none(request), None
    if client is not None:
        try:
            operation = await start_flow_control(
                client,
                flow_id,
                signal,
                "flow archived" if signal == "stop" else None,
                settings_of(request).task_queue,
                while_status=status.value,
            )
        except Exception:  # noqa: BLE001 - the status changed; say so, and how to finish
            log.exception(
                "flow.signal_failed",
                flow_id=flow_id,
                signal=signal,
                retry=f"dripstone journey {signal} {flow_id} --all",
            )
    return StatusChanged(flow_id=flow_id, status=status, operation_id=operation)


def _change(engine: Engine, action: str, flow_id: str) -> FlowStatus:
    with engine.begin() as conn:
        return getattr(flow_lifecycle, action)(conn, flow_id)
