"""Contact events: the envelope every event travels in, and validation at the edge.
Type strings and payload schemas are in domain.event_payloads."""

from datetime import datetime, timedelta
from hashlib import sha1
from typing import Any
from uuid import NAMESPACE_URL

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json

from domain.change_ids import JOURNEY_EVENT_PREFIX
from domain.event_payloads import EventType, Payload  # noqa: F401  (re-exported)
from domain.identifiers import ContactId, EventId
from domain.payload_schemas import PAYLOAD_SCHEMAS
from domain.phone_check import phone_problem

# Clock skew between services is normal; a timestamp further ahead than this is a bug
# in the sender and would make "as of" conditions lie, so it is refused at the edge.
MAX_FUTURE_SKEW = timedelta(minutes=5)
# An event travels to journeys as a Temporal signal; Temporal refuses payloads over 2 MB
# (and warns from 512 KB), so an event far below that is the most the edge accepts.
DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024


def sent_event_id(message_key: str) -> str:
    """The id of a message's message.sent event, derived from its ledger key: a resend
    finds the same id (stored once), and the contact's message history finds the event.
    It is str(uuid5(NAMESPACE_URL, message_key)), computed without the UUID object (a
    mailing makes one per recipient): SHA-1 of namespace and key, version 5, RFC 4122."""
    digest = bytearray(sha1(_URL_NAMESPACE + message_key.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"sent:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_URL_NAMESPACE = NAMESPACE_URL.bytes


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


def payload_size(payload: dict[str, Any]) -> int:
    """Bytes of the payload as JSON, as it will be stored and signalled."""
    return len(to_json(payload, fallback=str))


def parse_event(
    raw: dict[str, Any],
    *,
    now: datetime,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    phone_region: str | None = None,
) -> ContactEvent:
    """Validate an incoming event completely, or raise EventRejected naming each field.
    A contact's phone must be a valid number (`phone_region`: the deployment's
    DRIPSTONE_PHONE_DEFAULT_REGION, for national numbers)."""
    try:
        event = ContactEvent.model_validate(raw)
    except ValidationError as exc:
        raise EventRejected([(_field_path(e["loc"]), e["msg"]) for e in exc.errors()]) from None
    if event.event_id.startswith(JOURNEY_EVENT_PREFIX):
        raise EventRejected(
            [
                (
                    "event_id",
                    f"ids starting with {JOURNEY_EVENT_PREFIX!r} are kept for the events journeys write",
                )
            ]
        )
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
    size = payload_size(event.payload)
    if size > max_payload_bytes:
        raise EventRejected(
            [
                (
                    "payload",
                    f"is {size} bytes; at most {max_payload_bytes} "
                    "are accepted (DRIPSTONE_MAX_EVENT_PAYLOAD_BYTES)",
                )
            ]
        )
    if event.type in (EventType.CONTACT_CREATED, EventType.CONTACT_UPDATED):
        if (reason := phone_problem(event.payload.get("phone"), phone_region)) is not None:
            raise EventRejected([("payload.phone", reason)])
    if event.occurred_at > now + MAX_FUTURE_SKEW:
        raise EventRejected([("occurred_at", f"{event.occurred_at.isoformat()} is in the future")])
    # model_construct: every field was validated just above; only the payload changes.
    return ContactEvent.model_construct(
        event_id=event.event_id,
        type=event.type,
        schema_version=event.schema_version,
        contact_id=event.contact_id,
        occurred_at=event.occurred_at,
        source=event.source,
        payload=payload.model_dump(exclude_unset=True),
    )
