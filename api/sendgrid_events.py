"""SendGrid Event Webhook batches -> contact events.

SendGrid posts a JSON array of events and retries the whole batch until it gets a 2xx.
A malformed event cannot be fixed by retrying, so the valid events of a batch are
stored and each bad one is reported (by index and field); the redelivery that a 4xx
causes appends nothing twice, because every event id derives from sg_event_id.
Our custom_args (activities/sendgrid_email.py) come back as top-level fields of each
event and attribute it to the contact, journey, flow step and message."""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection

from api.recipients import contacts_by_email, per_contact, stable_event_id
from domain.events import ContactEvent
from domain.events import EventType as T
from domain.identifiers import ContactId

SOURCE = "sendgrid"
_CONTACT_ID = TypeAdapter(ContactId)
# SendGrid events we do not turn into contact events: they say nothing a condition or
# read model uses (processed, deferred), or repeat what suppression already knows (dropped).
IGNORED = frozenset({"processed", "deferred", "dropped"})


class BodyError(ValueError):
    def __init__(self, field_name: str, reason: str):
        self.field, self.reason = field_name, reason
        super().__init__(f"{field_name}: {reason}")


@dataclass(frozen=True)
class Rejected:
    index: int
    field: str
    reason: str


@dataclass
class Mapped:
    events: list[ContactEvent] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    ignored: int = 0


def parse_batch(body: bytes) -> list[Any]:
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BodyError("body", f"not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise BodyError("body", "must be a JSON array of events")
    return items


def map_batch(conn: Connection, items: list[Any], now: datetime) -> Mapped:
    mapped = Mapped()
    addresses = {
        item["email"].lower()
        for item in items
        if isinstance(item, dict)
        and isinstance(item.get("email"), str)
        and not item.get("contact_id")
    }
    by_email = contacts_by_email(conn, addresses)
    for index, item in enumerate(items):
        try:
            events = _map_one(item, by_email, now)
        except BodyError as exc:
            mapped.rejected.append(Rejected(index, exc.field, exc.reason))
            continue
        if events is None:
            mapped.ignored += 1
        else:
            mapped.events += events
    return mapped


def _map_one(item: Any, by_email: dict[str, list[str]], now: datetime) -> list[ContactEvent] | None:
    if not isinstance(item, dict):
        raise BodyError("event", "each item must be a JSON object")
    kind = _text(item, "event")
    sg_event_id = _text(item, "sg_event_id")
    occurred_at = _timestamp(item, now)
    if kind in IGNORED or kind not in _PAYLOADS or item.get("test_send"):
        return None  # a test send is nobody's engagement
    payloads = _PAYLOADS[kind](item)
    contact_ids = _contacts(item, by_email)
    if not contact_ids:
        return None  # not a contact of ours (a message sent by another system)
    events = []
    for event_type, payload, suffix in payloads:
        base = stable_event_id(SOURCE, sg_event_id, *([suffix] if suffix else []))
        for contact_id, event_id in per_contact(base, contact_ids):
            event = ContactEvent(
                event_id=event_id,
                type=event_type,
                contact_id=contact_id,
                occurred_at=occurred_at,
                source=SOURCE,
                payload=payload,
            )
            try:
                event.typed_payload()
            except ValidationError as exc:
                error = exc.errors()[0]
                raise BodyError(
                    str(error["loc"][0]) if error["loc"] else "event", error["msg"]
                ) from None
            events.append(event)
    return events


def _text(item: dict, name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BodyError(name, "required, a non-empty string")
    return value


def _timestamp(item: dict, now: datetime) -> datetime:
    value = item.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BodyError("timestamp", "required, seconds since the epoch")
    try:
        at = datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise BodyError("timestamp", f"{value} is out of range") from None
    # A sender's clock ahead of ours must not put the event in our future.
    return min(at, now)


def _contacts(item: dict, by_email: dict[str, list[str]]) -> list[str]:
    if item.get("contact_id"):
        try:
            return [_CONTACT_ID.validate_python(item["contact_id"])]
        except ValidationError:
            raise BodyError("contact_id", "not a contact id") from None
    return by_email.get(_text(item, "email").lower(), [])


def _attribution(item: dict) -> dict[str, Any]:
    # idempotency_key is our message key; flow and step come with it.
    values = {
        "message_key": item.get("idempotency_key") or item.get("message_key"),
        "flow_id": item.get("flow_id"),
        "step_id": item.get("step_id"),
    }
    return {k: v for k, v in values.items() if v is not None}


def _engagement(event_type: str):
    return lambda item: [(event_type, _attribution(item), None)]


def _click(item: dict):
    return [(T.EMAIL_CLICKED, {**_attribution(item), "url": _text(item, "url")}, None)]


def _bounce(item: dict):
    kind = item.get("type") if item.get("type") in ("bounce", "blocked") else "bounce"
    details = {
        "email": _text(item, "email"),
        "bounce_type": kind,
        "reason": item.get("reason"),
        "status": item.get("status"),
    }
    return [
        (
            T.EMAIL_BOUNCED,
            {**_attribution(item), **{k: v for k, v in details.items() if v is not None}},
            None,
        )
    ]


def _spam(item: dict):
    # A complaint is the strongest opt-out there is: stop emailing, and say why.
    return [
        (T.EMAIL_SPAM_REPORTED, _attribution(item), None),
        (T.UNSUBSCRIBED, {"channel": "email"}, "unsubscribed"),
    ]


def _group(event_type: str):
    def payloads(item: dict):
        group = item.get("asm_group_id")
        if isinstance(group, bool) or not isinstance(group, (int, str)) or group == "":
            raise BodyError("asm_group_id", "required for group (un)subscribe events")
        # An unsubscribe group is one list of the email channel, not the whole channel.
        return [(event_type, {"channel": "email", "list_id": f"sendgrid-group-{group}"}, None)]

    return payloads


_PAYLOADS = {
    "delivered": _engagement(T.EMAIL_DELIVERED),
    "open": _engagement(T.EMAIL_OPENED),
    "click": _click,
    "bounce": _bounce,
    "spamreport": _spam,
    "unsubscribe": lambda item: [(T.UNSUBSCRIBED, {"channel": "email"}, None)],
    "group_unsubscribe": _group(T.UNSUBSCRIBED),
    "group_resubscribe": _group(T.RESUBSCRIBED),
}
