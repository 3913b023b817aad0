"""/v1/flows/{flow_id}/migrations: move running journeys to another version of their
flow (docs/journey-migration.md), as `dripstone flow migrate` does. A dry run answers
the plan; a real one answers the plan and the migration's id (202), or 409 naming every
waiting step with no place in the target until it is mapped. GET .../{migration_id}
follows the durable operation."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from temporalio.service import RPCError, RPCStatusCode

from api.deps import client_of, engine_of, settings_of
from api.errors import responses
from api.flows import FlowIdPath
from domain.identifiers import StepId
from domain.migration_plan import MigrationPlan, MigrationProgress
from routing.journey_migrations import (
    MigrationRejected,
    dry_run,
    load_versions,
    migration_progress,
    start_migration,
)

router = APIRouter(prefix="/v1/flows", tags=["migrations"])

MigrationIdPath = Annotated[
    str, Path(description="The migration_id a POST answered.", pattern=r"^[0-9a-f]{1,32}$")
]


class MigrationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_version: int = Field(ge=1, description="The version journeys move to.")
    from_version: int | None = Field(
        default=None,
        ge=1,
        description="Only journeys of this " "version; null: every version but the target.",
    )
    map: dict[StepId, StepId] = Field(
        default_factory=dict,
        description="OLD -> NEW step " "ids; steps are otherwise matched by id.",
    )
    dry_run: bool = Field(default=False, description="Only answer the plan; move nothing.")


class MigrationAnswer(BaseModel):
    plan: MigrationPlan | None = Field(
        description="Null when no journey is on a source " "version (nothing to move)."
    )
    migration_id: str | None = Field(
        description="The operation started (null for a dry run " "or when nothing moves)."
    )


@router.post(
    "/{flow_id}/migrations",
    response_model=MigrationAnswer,
    responses=responses(404, 409, 503),
    summary="Move running journeys to a version",
)
async def migrate(
    flow_id: FlowIdPath, body: MigrationRequest, request: Request, response: Response
) -> MigrationAnswer:
    engine, settings = engine_of(request), settings_of(request)
    client = client_of(request, "read or migrate running journeys")
    try:
        versions = await run_in_threadpool(
            load_versions, engine, flow_id, body.to_version, body.from_version, body.map
        )
    except MigrationRejected as exc:
        field = {"from": "from_version", "map": "map"}.get(exc.field, exc.field)
        raise HTTPException(
            422, detail=[{"loc": field, "msg": exc.message, "type": "value_error"}]
        ) from None
    if not versions.sources:
        return MigrationAnswer(plan=None, migration_id=None)
    plan = await dry_run(engine, client, versions, body.map)
    if body.dry_run:
        return MigrationAnswer(plan=plan, migration_id=None)
    if plan.refused:
        return JSONResponse(
            status_code=409,
            content={
                "detail": f"refused: these steps have journeys waiting and no place in version "
                f"{body.to_version}; map each (map: {{OLD: NEW}}): " + "; ".join(plan.unmapped),
                "plan": plan.model_dump(mode="json"),
            },
        )
    migration_id = await start_migration(
        client, flow_id, body.to_version, sorted(versions.sources), body.map, settings.task_queue
    )
    response.status_code = 202
    return MigrationAnswer(plan=plan, migration_id=migration_id)


@router.get(
    "/{flow_id}/migrations/{migration_id}",
    response_model=MigrationProgress,
    responses=responses(404, 503),
    summary="Progress of a migration",
)
async def progress(
    flow_id: FlowIdPath, migration_id: MigrationIdPath, request: Request
) -> MigrationProgress:
    client = client_of(request, "follow migrations")
    try:
        return await migration_progress(client, engine_of(request), flow_id, migration_id)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise HTTPException(
                404, detail=f"flow {flow_id!r} has no migration " f"{migration_id!r}"
            ) from None
        raise
