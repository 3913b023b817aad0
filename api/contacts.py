"""PUT and GET /v1/contacts/{contact_id}. An upsert is an event like any other
(contact.created for a contact never seen, contact.updated after), so it is stored,
projected and routed the same way, and a flow can trigger on it."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select
from starlette.concurrency import run_in_threadpool

from api.deps import RoutedOut, engine_of, reported, settings_of
from api.errors import responses
from api.events import EventIn, parse_all, store_and_route
from domain.events import EventRejected, EventType
from domain.identifiers import ContactId, EventId
from domain.phone_check import phone_problem
from projections.contact_history import contact_view
from projections.schema import contacts

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])

ContactIdPath = Annotated[ContactId, Path(description="Your opaque contact id.")]


class ContactUpsert(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "ann@example.com", "attributes": {"first_name": "Ann", "plan": "pro"}}
            ]
        },
    )

    email: str | None = Field(default=None, max_length=320, description="Null clears it.")
    phone: str | None = Field(
        default=None, max_length=32, description="E.164 preferred (+14155550100). Null clears it."
    )
    attributes: dict[str, Any] | None = Field(
        default=None,
        description="Attributes to set; one set to null is cleared, one left " "out is left alone.",
    )
    event_id: EventId | None = Field(
        default=None,
        description="Idempotency: the same id again changes nothing. Made up "
        "(`api-<uuid>`) when absent.",
    )


class ContactUpserted(BaseModel):
    contact_id: str
    event_id: str
    type: str = Field(description="contact.created or contact.updated")
    appended: bool = Field(description="False when this event_id was stored before.")
    routed: list[RoutedOut]


class ContactOut(BaseModel):
    contact_id: str
    email: str | None
    phone: str | None
    attributes: dict[str, Any] = Field(description="Every attribute with a value.")
    tags: list[str]
    unsubscribed: list[str] = Field(description="Channels (email, sms) the contact left.")
    unsubscribed_topics: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Channel -> subscription topics the contact left "
        "there (preference page, one-click unsubscribe); a channel left altogether is in "
        "`unsubscribed`.",
    )
    products: list[str]
    subscriptions: dict[str, bool] = Field(description="plan -> active now")
    created_at: datetime | None = Field(description="The contact's earliest event.")
    last_active_at: datetime | None


@router.put("/{contact_id}", response_model=ContactUpserted, summary="Create or update a contact")
async def upsert_contact(
    contact_id: ContactIdPath, body: ContactUpsert, request: Request
) -> ContactUpserted:
    """Appends contact.created for a contact never seen, contact.updated otherwise: stored,
    projected and routed like any event, so a flow can trigger on it. Only the fields
    sent change; send an `event_id` to make a retry harmless."""
    engine = engine_of(request)
    known = await run_in_threadpool(contact_exists, engine, contact_id)
    kind = EventType.CONTACT_UPDATED if known else EventType.CONTACT_CREATED
    payload = body.model_dump(exclude_unset=True, exclude={"event_id"})
    if payload.get("attributes") is None:
        payload.pop("attributes", None)
    settings = settings_of(request)
    if (reason := phone_problem(body.phone, settings.phone_default_region)) is not None:
        raise EventRejected([("phone", reason)])
    [event] = parse_all(
        [
            EventIn(
                event_id=body.event_id or f"api-{uuid.uuid4()}",
                type=kind,
                contact_id=contact_id,
                payload=payload,
            )
        ],
        batch=False,
        max_payload_bytes=settings.max_event_payload_bytes,
        phone_region=settings.phone_default_region,
    )
    appended, routed = await store_and_route(request, [event])
    return ContactUpserted(
        contact_id=contact_id,
        event_id=event.event_id,
        type=kind,
        appended=bool(appended),
        routed=reported(routed),
    )


@router.get(
    "/{contact_id}",
    response_model=ContactOut,
    responses=responses(404),
    summary="A contact as the read models see it",
)
def get_contact(contact_id: ContactIdPath, request: Request) -> ContactOut:
    with engine_of(request).connect() as conn:
        view = contact_view(conn, contact_id)
    if view is None:
        raise HTTPException(404, detail=f"there is no contact {contact_id!r}")
    return ContactOut(**view)


def contact_exists(engine: Engine, contact_id: str) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(
                select(contacts.c.contact_id).where(contacts.c.contact_id == contact_id)
            ).first()
            is not None
        )
