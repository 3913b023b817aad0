"""POST /v1/events and /v1/events/batch: validated whole at the edge, appended and
projected in one transaction, then routed to journeys. Idempotent by event_id."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import RoutedOut, engine_of, reported, settings_of
from api.errors import prefixed
from api.event_schema import ShownByType
from domain.events import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    PAYLOAD_SCHEMAS,
    ContactEvent,
    EventRejected,
    parse_event,
)
from domain.identifiers import ContactId, EventId
from routing.dispatch import Backoff
from routing.ingestion import ingest_events
from routing.router import Routed

router = APIRouter(prefix="/v1/events", tags=["events"])

MAX_BATCH = 1000


class EventIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "signup-8f2c",
                    "type": "form.submitted",
                    "contact_id": "c-42",
                    "payload": {"form_id": "newsletter", "fields": {"first_name": "Ann"}},
                }
            ]
        },
    )

    event_id: EventId | None = Field(
        default=None,
        description="Your id for this event; sending the same id again is a "
        "no-op, so retries are safe. Without one the API makes up `api-<uuid>` and returns "
        "it, and a retry is then a second event. Ids starting with `journey:` are kept for "
        "the events journeys write.",
    )
    type: str = Field(description="The event type, one of: " + ", ".join(sorted(PAYLOAD_SCHEMAS)))
    contact_id: ContactId = Field(
        description="Your opaque contact id (no e-mail addresses "
        "or phone numbers: ids show up in Temporal)."
    )
    occurred_at: AwareDatetime | None = Field(
        default=None,
        description="When it happened, with a time zone; defaults to now. At "
        "most 5 minutes in the future.",
    )
    source: str = Field(
        default="api", min_length=1, max_length=100, description="Which system sent it."
    )
    schema_version: int = Field(default=1, ge=1, description="Version of the payload schema.")
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Type-specific fields: see the schema of each `type` (docs/events.md lists them "
            "too). Fields a type does not define are refused."
        ),
    )


# Validated as EventIn (then by parse_event, naming each field), documented as one schema
# per event type discriminated on `type`: see api/event_schema.py.
Event = Annotated[EventIn, ShownByType(EventIn)]


class EventAccepted(BaseModel):
    event_id: str = Field(description="The event's id (the one made up when none was sent).")
    appended: bool = Field(
        description="False when an event with this id was already stored: "
        "nothing was appended or routed again."
    )
    routed: list[RoutedOut] = Field(description="Journeys the event started or reached.")


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Event] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=(f"1 to {MAX_BATCH} events. One invalid event rejects the whole batch."),
    )


class BatchAccepted(BaseModel):
    received: int = Field(description="Events in the batch.")
    appended: int = Field(description="Events stored now (new event ids).")
    duplicates: list[str] = Field(
        description="Ids of events that were stored already " "(or repeated within the batch)."
    )
    routed: list[RoutedOut]


@router.post("", status_code=202, response_model=EventAccepted, summary="Send one event")
async def post_event(body: Event, request: Request) -> EventAccepted:
    [event] = parse_all(
        [body],
        batch=False,
        max_payload_bytes=_limit(request),
        phone_region=settings_of(request).phone_default_region,
    )
    appended, routed = await store_and_route(request, [event])
    return EventAccepted(event_id=event.event_id, appended=bool(appended), routed=reported(routed))


@router.post(
    "/batch",
    status_code=202,
    response_model=BatchAccepted,
    summary="Send up to 1000 events, all or none",
)
async def post_batch(body: EventBatch, request: Request) -> BatchAccepted:
    events = parse_all(
        body.events,
        batch=True,
        max_payload_bytes=_limit(request),
        phone_region=settings_of(request).phone_default_region,
    )
    appended, routed = await store_and_route(request, events)
    return BatchAccepted(
        received=len(events),
        appended=len(appended),
        duplicates=_duplicates(events, appended),
        routed=reported(routed),
    )


def parse_all(
    bodies: list[EventIn],
    *,
    batch: bool,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    phone_region: str | None = None,
) -> list[ContactEvent]:
    """Every event validated before any is stored; the problems of all bad events are
    reported together, each under `events[i].` in a batch. `phone_region`: for contact
    phones written without +country (domain.phone_check)."""
    now = datetime.now(UTC)
    events, problems = [], []
    for index, body in enumerate(bodies):
        raw = body.model_dump(exclude_none=True)
        if "event_id" not in raw:
            raw["event_id"] = f"api-{uuid.uuid4()}"
        raw.setdefault("occurred_at", now)
        try:
            events.append(
                parse_event(
                    raw, now=now, max_payload_bytes=max_payload_bytes, phone_region=phone_region
                )
            )
        except EventRejected as exc:
            problems += [
                (prefixed(f"events[{index}]", field) if batch else field, reason)
                for field, reason in exc.problems
            ]
    if problems:
        raise EventRejected(problems)
    return events


async def store_and_route(
    request: Request, events: list[ContactEvent]
) -> tuple[list[ContactEvent], list[Routed]]:
    """Stored, projected and recorded for dispatch in one transaction, then routed.
    Without a Temporal client in this process (or when routing fails) the dispatcher of
    a process that has one routes them later, so `routed` is empty then."""
    return await ingest_events(
        engine_of(request),
        request.app.state.router,
        events,
        Backoff.from_settings(settings_of(request)),
    )


def _limit(request: Request) -> int:
    return settings_of(request).max_event_payload_bytes


def _duplicates(events: list[ContactEvent], appended: list[ContactEvent]) -> list[str]:
    """Received events that were not themselves stored: ids seen before, and repeats of
    an id within the batch after its first (so received == appended + duplicates)."""
    new, duplicates = {e.event_id for e in appended}, []
    for event in events:
        if event.event_id in new:
            new.discard(event.event_id)
        else:
            duplicates.append(event.event_id)
    return duplicates
