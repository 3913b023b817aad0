"""A contact's history: GET /v1/contacts/{contact_id}/events and /messages, newest
first, a page at a time (`limit`, then the answer's `next` as `cursor`). Events carry
their payloads: these routes need the API key, like everything under /v1."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from api.deps import engine_of
from api.errors import responses
from domain.identifiers import ContactId
from projections import contact_history as history

router = APIRouter(prefix="/v1/contacts", tags=["contacts"])

ContactIdPath = Annotated[ContactId, Path(description="Your opaque contact id.")]
Limit = Annotated[int, Query(ge=1, le=history.MAX_LIMIT, description="Page size.")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2000, description="The `next` of the page " "before; leave out for the newest."
    ),
]
NEXT = Field(description="Pass as `cursor` for the next (older) page; null on the last.")


class EventOut(BaseModel):
    event_id: str
    type: str
    occurred_at: datetime
    recorded_at: datetime = Field(description="When the store took it in.")
    source: str
    payload: dict[str, Any]


class EventPage(BaseModel):
    events: list[EventOut] = Field(description="Newest first, in the order they were stored.")
    next: str | None = NEXT


class MessageOut(BaseModel):
    message_key: str = Field(description="The send's idempotency key.")
    channel: str = Field(description="email, sms...")
    status: str = Field(
        description="sent; pending (the provider's answer is not recorded "
        "yet); not_sent (the provider said not now, to be retried); failed."
    )
    flow_id: str | None
    mailing_id: str | None
    step_id: str | None
    to: str | None = Field(description="The address it went to; null until sent.")
    subject: str | None = Field(
        description="Email subject, as sent. Null unless the " "outbox provider stored the message."
    )
    text: str | None = Field(
        description="The body as sent. Null unless the outbox " "provider stored the message."
    )
    segments: int | None = Field(description="SMS only: the parts billed.")
    encoding: str | None = Field(description="SMS only: GSM-7 or UCS-2.")
    provider_message_id: str | None
    transactional: bool | None = Field(description="Left out of frequency caps; null unless sent.")
    attempts: int | None = Field(description="Provider calls tried (null when not in the ledger).")
    detail: str | None = Field(description="Why it was not sent, when it was not.")
    created_at: datetime = Field(description="First attempted (the order of the list).")
    sent_at: datetime | None


class MessagePage(BaseModel):
    messages: list[MessageOut] = Field(description="Newest first.")
    next: str | None = NEXT


@router.get(
    "/{contact_id}/events",
    response_model=EventPage,
    responses=responses(404),
    summary="A contact's events, newest first",
)
def get_events(
    contact_id: ContactIdPath,
    request: Request,
    limit: Limit = history.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> EventPage:
    page = _page(request, contact_id, history.contact_events, limit, cursor)
    return EventPage(events=[EventOut(**e) for e in page.items], next=page.next)


@router.get(
    "/{contact_id}/messages",
    response_model=MessagePage,
    responses=responses(404),
    summary="Messages sent (or tried) to a contact, newest first",
)
def get_messages(
    contact_id: ContactIdPath,
    request: Request,
    limit: Limit = history.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> MessagePage:
    page = _page(request, contact_id, history.contact_messages, limit, cursor)
    return MessagePage(messages=[MessageOut(**m) for m in page.items], next=page.next)


def _page(request: Request, contact_id: str, read, limit: int, cursor: str | None) -> history.Page:
    with engine_of(request).connect() as conn:
        if not history.known(conn, contact_id):
            raise HTTPException(404, detail=f"there is no contact {contact_id!r}")
        try:
            return read(conn, contact_id, limit, cursor)
        except history.BadCursor as exc:
            raise RequestValidationError(
                [{"loc": ("query", "cursor"), "msg": str(exc), "type": "value_error"}]
            ) from None
