"""Messages: what was sent, opens and clicks, SMS replies and channel opt-outs."""

import hashlib
import json

from domain.events import ContactEvent, EventType
from projections.projectors.common import contact_latest, insert_once, upsert_latest, upsert_seen
from projections.projectors.writes import Writes
from projections.schema import channel_status, email_engagement, sent_messages
from projections.topic_schema import topic_preferences


def message_sent(w: Writes, event: ContactEvent) -> None:
    payload = event.payload
    insert_once(
        w,
        sent_messages,
        {
            "message_key": payload["message_key"],
            "contact_id": event.contact_id,
            "channel": payload["channel"],
            "flow_id": payload.get("flow_id"),
            "step_id": payload.get("step_id"),
            "to_address": payload["to"],
            "provider_message_id": payload.get("provider_message_id"),
            "sent_at": event.occurred_at,
            "transactional": bool(payload.get("transactional")),
        },
        unique="message_key",
    )


def email_touched(w: Writes, event: ContactEvent) -> None:
    """email.opened / email.clicked: the first time of each distinct touch. An open is
    per message; a click is per message and link."""
    kind = "click" if event.type == EventType.EMAIL_CLICKED else "open"
    payload = event.payload
    touch = {
        "message_key": payload.get("message_key"),
        "flow_id": payload.get("flow_id"),
        "step_id": payload.get("step_id"),
        "url": payload.get("url") if kind == "click" else None,
    }
    digest = hashlib.sha256(json.dumps(touch, sort_keys=True).encode()).hexdigest()
    upsert_seen(w, email_engagement, event, {"kind": kind, "touch_key": digest}, touch)


def sms_received(w: Writes, event: ContactEvent) -> None:
    # reply_contains reads the latest reply only: the newest by occurred_at wins.
    contact_latest(w, event, "last_reply_at", {"last_reply": event.payload["body"]})


def unsubscribed(w: Writes, event: ContactEvent) -> None:
    _channel(w, event, unsubscribed=True)


def resubscribed(w: Writes, event: ContactEvent) -> None:
    _channel(w, event, unsubscribed=False)


def _channel(w: Writes, event: ContactEvent, *, unsubscribed: bool) -> None:
    key = {"channel": event.payload["channel"], "list_id": event.payload.get("list_id") or ""}
    upsert_latest(w, channel_status, event, key, {"unsubscribed": unsubscribed})


def preferences_changed(w: Writes, event: ContactEvent) -> None:
    key = {"topic": event.payload["topic"], "channel": event.payload["channel"]}
    upsert_latest(w, topic_preferences, event, key, {"subscribed": event.payload["subscribed"]})


def bounce_list_id(email: str) -> str:
    """channel_status row that marks one address as bouncing. It is keyed by a digest
    of the address (list ids are bounded, addresses are not, and no address belongs in
    a key), so a contact who changes address is no longer suppressed, and the
    `unsubscribed` condition (list_id '') never mistakes a bounce for an opt-out."""
    return "bounced:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]


def email_bounced(w: Writes, event: ContactEvent) -> None:
    # Only a permanent bounce suppresses; "blocked" is the receiving server saying not now.
    payload = event.payload
    if payload.get("bounce_type", "bounce") == "bounce" and payload.get("email"):
        key = {"channel": "email", "list_id": bounce_list_id(payload["email"])}
        upsert_latest(w, channel_status, event, key, {"unsubscribed": True})
