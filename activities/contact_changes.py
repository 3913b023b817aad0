"""Contact changes made by journeys are events like any other: appended to the store
and projected in one transaction. The event id derives from the step's idempotency
key, so a retried activity appends nothing new."""

from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity

from domain.events import ContactEvent, EventType
from projections.event_store import ingest


class ContactChangeRequest(BaseModel):
    idempotency_key: str
    contact_id: str
    event_type: str
    payload: dict[str, Any]


class ContactChangeOutcome(BaseModel):
    event_id: str
    appended: bool


class ContactChangeActivities:
    def __init__(self, engine: Engine):
        self.engine = engine

    @activity.defn(name="change_contact")
    def change_contact(self, request: ContactChangeRequest) -> ContactChangeOutcome:
        event = ContactEvent(
            event_id=f"journey:{uuid5(NAMESPACE_URL, request.idempotency_key)}",
            type=EventType(request.event_type), contact_id=request.contact_id,
            occurred_at=datetime.now(UTC), source="dripstone.journey", payload=request.payload,
        )
        event.typed_payload()  # refuse a malformed change before it reaches the store
        appended = ingest(self.engine, [event])
        return ContactChangeOutcome(event_id=event.event_id, appended=bool(appended))
