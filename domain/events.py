"""Contact events: the envelope, the stable type strings and each type's payload schema.

Type strings are part of the stored history (event store rows, workflow signals), so
they are past-tense names that never change; a payload change bumps `schema_version`
instead of renaming the type.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from domain.identifiers import ContactId, EventId


class EventType(StrEnum):
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    TAG_ADDED = "contact.tag_added"
    TAG_REMOVED = "contact.tag_removed"
    FORM_SUBMITTED = "form.submitted"
    MESSAGE_SENT = "message.sent"
    EMAIL_OPENED = "email.opened"
    EMAIL_CLICKED = "email.clicked"
    SMS_RECEIVED = "sms.received"
    CUSTOM = "custom"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContactCreated(_Payload):
    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class ContactUpdated(_Payload):
    """Attributes set to null are cleared; absent ones are left alone."""

    email: str | None = None
    phone: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class TagChanged(_Payload):
    tag: str = Field(min_length=1, max_length=100)


class FormSubmitted(_Payload):
    form_id: str = Field(min_length=1)
    funnel: str | None = None
    page: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class MessageSent(_Payload):
    channel: str
    message_key: str
    flow_id: str | None = None
    step_id: str | None = None
    to: str
    provider_message_id: str | None = None


class EmailEngagement(_Payload):
    message_key: str | None = None
    url: str | None = None


class SmsReceived(_Payload):
    body: str
    from_number: str | None = None


class CustomEvent(_Payload):
    name: str = Field(min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)


PAYLOAD_SCHEMAS: dict[str, type[_Payload]] = {
    EventType.CONTACT_CREATED: ContactCreated,
    EventType.CONTACT_UPDATED: ContactUpdated,
    EventType.TAG_ADDED: TagChanged,
    EventType.TAG_REMOVED: TagChanged,
    EventType.FORM_SUBMITTED: FormSubmitted,
    EventType.MESSAGE_SENT: MessageSent,
    EventType.EMAIL_OPENED: EmailEngagement,
    EventType.EMAIL_CLICKED: EmailEngagement,
    EventType.SMS_RECEIVED: SmsReceived,
    EventType.CUSTOM: CustomEvent,
}

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

    def typed_payload(self) -> _Payload:
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
