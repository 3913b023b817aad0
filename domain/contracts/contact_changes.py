"""change_contact: one event a journey's tag step appends (its id from the step's key)."""

from typing import Any

from pydantic import BaseModel


class ContactChangeRequest(BaseModel):
    idempotency_key: str
    contact_id: str
    event_type: str
    payload: dict[str, Any]
    # domain.change_ids.journey_origin, from journeys that take their own changes into
    # their inbox (the router then does not signal them back); None from older ones.
    origin: str | None = None


class ContactChangeOutcome(BaseModel):
    event_id: str
    appended: bool
