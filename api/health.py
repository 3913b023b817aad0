"""GET /healthz and /readyz, without an API key (they are for the orchestrator's probes).

Readiness is the database: with Temporal down the API still takes events in (the
dispatcher routes them once it is back), so an API pod must stay in service then;
Temporal's state is reported, not required."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import client_or_none, engine_of
from health import checks

router = APIRouter(tags=["health"])


class Live(BaseModel):
    status: str = "ok"


class Ready(BaseModel):
    status: str = Field(description="ready, or not ready (503).")
    database: str = Field(description="ok, or why not (reachable, at this release's schema).")
    temporal: str = Field(
        description="ok, not configured, or why not; never makes the API " "not ready."
    )


@router.get("/healthz", response_model=Live, summary="Liveness: the process answers")
def healthz() -> Live:
    return Live()


@router.get(
    "/readyz",
    response_model=Ready,
    responses={503: {"model": Ready}},
    summary="Readiness: the database is reachable and at this release's schema",
)
async def readyz(request: Request) -> JSONResponse:
    database = await checks.database(engine_of(request))
    client = client_or_none(request)
    temporal = "not configured" if client is None else (await checks.temporal(client) or "ok")
    ready = Ready(
        status="ready" if database is None else "not ready",
        database=database or "ok",
        temporal=temporal,
    )
    return JSONResponse(ready.model_dump(), status_code=200 if database is None else 503)
