"""Routing's backlog over HTTP: how many events wait to reach their journeys, and the
dead letters (dispatches set aside because retrying could not cure them), to retry once
the cause is fixed or to skip for good.

GET  /v1/dispatch                                  counts: waiting, failing, dead
GET  /v1/dispatch/dead-letters?limit=&after=       oldest first, paged by position
POST /v1/dispatch/dead-letters/{event_id}/retry    back in line, due at once
POST /v1/dispatch/dead-letters/{event_id}/skip     never routed (the event stays stored)
"""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import engine_of
from api.errors import responses
from domain.identifiers import EventId
from projections import dispatches
from routing import dead_letters

router = APIRouter(prefix="/v1/dispatch", tags=["dispatch"])

EventIdPath = Annotated[EventId, Path(description="The dead letter's event id.")]


class DispatchCounts(BaseModel):
    waiting: int = Field(description="Events not yet delivered to their journeys (not dead).")
    failing: int = Field(description="Of those, events whose delivery failed at least once.")
    dead: int = Field(description="Dead letters: set aside, waiting for retry or skip.")


class DeadLetterOut(BaseModel):
    event_id: str
    contact_id: str
    type: str
    position: int = Field(description="The event's place in the store (the `after` cursor).")
    attempts: int
    reason: str = Field(description="Why it was set aside: the last error.")
    dead_at: datetime
    created_at: datetime


class DeadLetterPage(BaseModel):
    dead_letters: list[DeadLetterOut] = Field(description="Oldest event first.")
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null when " "this was the last."
    )


class DeadLetterHandled(BaseModel):
    event_id: str
    action: Literal["retried", "skipped"]


@router.get("", response_model=DispatchCounts, summary="How many events wait to be routed")
def counts(request: Request) -> DispatchCounts:
    with engine_of(request).connect() as conn:
        waiting, failing, dead = dispatches.pending(conn)
    return DispatchCounts(waiting=waiting, failing=failing, dead=dead)


@router.get("/dead-letters", response_model=DeadLetterPage, summary="Dead letters, oldest first")
def list_dead_letters(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    after: Annotated[int, Query(ge=0, description="The `next_after` of the page before.")] = 0,
) -> DeadLetterPage:
    with engine_of(request).connect() as conn:
        # One more than asked, to know whether another page follows.
        page = dispatches.dead_letters(conn, limit=limit + 1, after_position=after)
    shown = page[:limit]
    return DeadLetterPage(
        dead_letters=[DeadLetterOut(**vars(letter)) for letter in shown],
        next_after=shown[-1].position if len(page) > limit else None,
    )


@router.post(
    "/dead-letters/{event_id:path}/retry",
    response_model=DeadLetterHandled,
    responses=responses(404),
    summary="Route a dead letter again",
)
async def retry(event_id: EventIdPath, request: Request) -> DeadLetterHandled:
    """Back in line, due at once: the dispatcher routes it with the contact's other
    pending events, in order."""
    await _handle(engine_of(request), event_id, dead_letters.retry)
    return DeadLetterHandled(event_id=event_id, action="retried")


@router.post(
    "/dead-letters/{event_id:path}/skip",
    response_model=DeadLetterHandled,
    responses=responses(404),
    summary="Give up on a dead letter",
)
async def skip(event_id: EventIdPath, request: Request) -> DeadLetterHandled:
    """Never routed; the event stays stored and projected (conditions still see it)."""
    await _handle(engine_of(request), event_id, dead_letters.skip)
    return DeadLetterHandled(event_id=event_id, action="skipped")


async def _handle(engine: Engine, event_id: str, action) -> None:
    handled = await run_in_threadpool(action, engine, [event_id])
    if not handled.done:
        raise HTTPException(404, detail=f"event {event_id!r} is not a dead letter")
