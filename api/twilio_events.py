"""Twilio status callbacks and inbound SMS -> contact events.

Inbound messages name the contact only by phone number. A number no contact has gets a
contact of its own (id derived from the number, see recipients.phone_contact_id) rather
than being dropped: what a person texted is kept, a STOP from them is honoured for the
number (send_sms suppresses by number, whoever holds it), and an inbound text can start
a flow (e.g. a keyword sign-up)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import Connection

from activities.phones import to_e164
from api.recipients import (
    contacts_by_phone,
    per_contact,
    phone_contact_id,
    sent_sms,
    stable_event_id,
)
from api.sendgrid_events import BodyError
from domain.events import ContactEvent
from domain.events import EventType as T
from domain.sms_keywords import keyword

SOURCE = "twilio"
# Twilio's error for sending to a number that replied STOP at the carrier.
UNSUBSCRIBED_RECIPIENT = "21610"


@dataclass(frozen=True)
class Inbound:
    events: list[ContactEvent]
    keyword: str | None  # STOP | START | HELP


def inbound_events(conn: Connection, form: Mapping[str, str], now: datetime) -> Inbound:
    sid = _required(form, "MessageSid")
    sender = _required(form, "From")
    body = form.get("Body", "")
    e164 = to_e164(sender)
    if e164 is None:
        raise BodyError("From", f"{sender!r} is not a valid phone number")
    events: list[ContactEvent] = []
    contact_ids = contacts_by_phone(conn, sender, e164)
    if not contact_ids:
        contact_ids = [phone_contact_id(e164)]
        events.append(
            _event(
                stable_event_id(SOURCE, "contact", contact_ids[0]),
                T.CONTACT_CREATED,
                contact_ids[0],
                now,
                {"phone": e164},
            )
        )
    opt_out_type = form.get("OptOutType") or None
    payload = {
        "body": body,
        "from_number": e164,
        **({"opt_out_type": opt_out_type} if opt_out_type else {}),
    }
    # A STOP or START is acted on by the store (domain/sms_keywords.py), as for any
    # sms.received; the keyword here only chooses the answer.
    for contact_id, event_id in per_contact(stable_event_id(SOURCE, sid), contact_ids):
        events.append(_event(event_id, T.SMS_RECEIVED, contact_id, now, payload))
    return Inbound(events, keyword(body, opt_out_type))


def status_events(conn: Connection, form: Mapping[str, str], now: datetime) -> list[ContactEvent]:
    """One event per (message, status): Twilio may repeat a callback, never a status."""
    sid = _required(form, "MessageSid")
    status = _required(form, "MessageStatus").lower()
    error_code = form.get("ErrorCode") or None
    payload = {
        "message_sid": sid,
        "status": status,
        **({"error_code": error_code} if error_code else {}),
    }
    sent = sent_sms(conn, sid)
    if sent is not None:
        contact_ids = [sent.contact_id]
        payload |= {
            k: v
            for k, v in (
                ("message_key", sent.message_key),
                ("flow_id", sent.flow_id),
                ("step_id", sent.step_id),
            )
            if v
        }
    else:
        # The callback can overtake our own record of the send; fall back to the number.
        to = form.get("To") or ""
        e164 = to_e164(to)
        contact_ids = contacts_by_phone(conn, to, e164) if e164 else []
    base = stable_event_id(SOURCE, sid, "status", status)
    events = [
        _event(event_id, T.SMS_STATUS_CHANGED, contact_id, now, payload)
        for contact_id, event_id in per_contact(base, contact_ids)
    ]
    if error_code == UNSUBSCRIBED_RECIPIENT:
        unsubscribed = stable_event_id(SOURCE, sid, "unsubscribed")
        events += [
            _event(event_id, T.UNSUBSCRIBED, contact_id, now, {"channel": "sms"})
            for contact_id, event_id in per_contact(unsubscribed, contact_ids)
        ]
    return events


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BodyError(name, "required form field is missing or empty")
    return value.strip()


def _event(
    event_id: str, event_type: str, contact_id: str, at: datetime, payload: dict
) -> ContactEvent:
    event = ContactEvent(
        event_id=event_id,
        type=event_type,
        contact_id=contact_id,
        occurred_at=at,
        source=SOURCE,
        payload=payload,
    )
    try:
        event.typed_payload()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "body"
        raise BodyError(_FORM_FIELDS.get(name, name), error["msg"]) from None
    return event


# Payload fields as Twilio's form names them, so a 400 names what the sender sent.
_FORM_FIELDS = {
    "message_sid": "MessageSid",
    "status": "MessageStatus",
    "error_code": "ErrorCode",
    "body": "Body",
    "from_number": "From",
    "opt_out_type": "OptOutType",
}
