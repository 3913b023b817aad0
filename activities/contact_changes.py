"""Contact changes made by journeys are events like any other: appended to the store
and projected in one transaction. The event id derives from the step's idempotency
key, so a retried activity appends nothing new."""

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, uuid5

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.events import ContactEvent, EventType
from projections.event_store import ingest

if TYPE_CHECKING:
    from routing.router import Router


class ContactChangeRequest(BaseModel):
    idempotency_key: str
    contact_id: str
    event_type: str
    payload: dict[str, Any]


class ContactChangeOutcome(BaseModel):
    event_id: str
    appended: bool


class ContactChangeActivities:
    def __init__(self, engine: Engine, router: "Router | None" = None):
        self.engine = engine
        self.router = router

    @activity.defn(name="change_contact")
    async def change_contact(self, request: ContactChangeRequest) -> ContactChangeOutcome:
        try:
            event = ContactEvent(
                event_id=f"journey:{uuid5(NAMESPACE_URL, request.idempotency_key)}",
                type=EventType(request.event_type), contact_id=request.contact_id,
                occurred_at=datetime.now(UTC), source="dripstone.journey", payload=request.payload,
            )
            event.typed_payload()  # refuse a malformed change before it reaches the store
        except (ValidationError, ValueError) as exc:
            # Retrying the same bad change cannot succeed: fail the step with the reason.
            raise ApplicationError(f"invalid contact change: {exc}", type="InvalidChange",
                                   non_retryable=True) from None
        appended = await asyncio.to_thread(ingest, self.engine, [event])
        if appended and self.router is not None:
            # A change made by one journey is an event like any other: it can start or
            # wake journeys of other flows (e.g. a contact.tag_added trigger).
            await self.router.route(appended)
        return ContactChangeOutcome(event_id=event.event_id, appended=bool(appended))
