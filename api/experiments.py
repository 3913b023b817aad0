"""/v1/flows/{id}/experiments: each experiment step's result (counts, rates, the
difference from the first variant with its interval and p-value, the stored decision)
and the flow's holdout lift. Computed from the read models as of the request."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request

from api.deps import engine_of
from api.errors import responses
from domain.experiments.results import ExperimentResult
from domain.identifiers import FlowId, StepId
from projections.experiments import (
    FlowExperiments,
    NotAnExperiment,
    experiment_at,
    flow_experiments,
)
from projections.flow_catalogue import get_flow

router = APIRouter(prefix="/v1/flows", tags=["experiments"])

FlowIdPath = Annotated[FlowId, Path(description="The flow's id.")]


@router.get(
    "/{flow_id}/experiments",
    response_model=FlowExperiments,
    responses=responses(404),
    summary="A flow's experiments and holdout lift",
)
def get_experiments(flow_id: FlowIdPath, request: Request) -> FlowExperiments:
    with engine_of(request).connect() as conn:
        get_flow(conn, flow_id)  # 404 for a flow that does not exist
        return flow_experiments(conn, flow_id, datetime.now(UTC))


@router.get(
    "/{flow_id}/experiments/{step_id}",
    response_model=ExperimentResult,
    responses=responses(404),
    summary="One experiment step's result",
)
def get_experiment(
    flow_id: FlowIdPath, step_id: Annotated[StepId, Path()], request: Request
) -> ExperimentResult:
    with engine_of(request).connect() as conn:
        get_flow(conn, flow_id)
        try:
            return experiment_at(conn, flow_id, step_id, datetime.now(UTC))
        except NotAnExperiment as exc:
            raise HTTPException(404, detail=str(exc)) from None
