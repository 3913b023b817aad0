"""Contact events: the envelope every event travels in, and validation at the edge.
Type strings and payload schemas are in domain.event_payloads."""

from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from domain.event_payloads import PAYLOAD_SCHEMAS, EventType, Payload  # noqa: F401
from domain.identifiers import ContactId, EventId


# Clock skew between services is normal; a timestamp further ahead than this is a bug
# in the sender and would make "as of" conditions lie, so it is refused at the edge.
MAX_FUTURE_SKEW = timedelta(minutes=5)


class ContactEvent(BaseModel):
    """The envelope every event travels in, from the API to the event store to a journey."""

    model_config = ConfigDict(frozen=True)

    event_id: EventId
    type: str
    schema_version: int = Field(default=1, ge=1)
    contact_id: ContactId
    occurred_at: AwareDatetime
    source: str = Field(default="api", min_length=1, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)

    def typed_payload(self) -> Payload:
        return PAYLOAD_SCHEMAS[self.type].model_validate(self.payload)


class EventRejected(ValueError):
    """Raised at the edge with every problem found, each naming its field."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_event(raw: dict[str, Any], *, now: datetime) -> ContactEvent:
    """Validate an incoming event completely, or raise EventRejected naming each field."""
    try:
        event = ContactEvent.model_validate(raw)
    except ValidationError as exc:
        raise EventRejected([(_field_path(e["loc"]), e["msg"]) for e in exc.errors()]) from None
    schema = PAYLOAD_SCHEMAS.get(event.type)
    if schema is None:
        known = ", ".join(sorted(PAYLOAD_SCHEMAS))
        raise EventRejected([("type", f"unknown event type {event.type!r}; known: {known}")])
    try:
        payload = schema.model_validate(event.payload)
    except ValidationError as exc:
        raise EventRejected(
            [(_field_path(("payload", *e["loc"])), e["msg"]) for e in exc.errors()]
        ) from None
    if event.occurred_at > now + MAX_FUTURE_SKEW:
        raise EventRejected(
            [("occurred_at", f"{event.occurred_at.isoformat()} is in the future")]
        )
    return event.model_copy(update={"payload": payload.model_dump(exclude_unset=True)})
