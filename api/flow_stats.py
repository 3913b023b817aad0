"""GET /v1/flows/{flow_id}/stats: per-step analytics of one flow version, from the read
models and the journey index (projections/step_stats.py); works without Temporal."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.deps import engine_of
from api.errors import responses
from domain.identifiers import FlowId
from projections.step_stats import FlowStepStats, flow_step_stats

router = APIRouter(prefix="/v1/flows", tags=["flows"])


@router.get(
    "/{flow_id}/stats",
    response_model=FlowStepStats,
    responses=responses(404),
    summary="Per-step counts of a flow version",
)
def get_stats(
    flow_id: Annotated[FlowId, Path(description="The flow's id.")],
    request: Request,
    version: Annotated[
        int | None, Query(ge=1, description="Published version; " "default: the live one.")
    ] = None,
) -> FlowStepStats:
    """For every step: entered, completed, skipped by reason, exited, failed, waiting now,
    and for sends: sent, delivered, opened, clicked, bounced, unsubscribed, converted;
    for experiment steps the same message counts per variant (`variants`). A topic
    opt-out skips as `unsubscribed_topic`, a holdout contact's message as `holdout`.
    404 naming the flow or version when there is none."""
    with engine_of(request).connect() as conn:
        return flow_step_stats(conn, flow_id, version)
