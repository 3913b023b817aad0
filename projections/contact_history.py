"""One contact as people ask about it: the contact itself (as GET /v1/contacts/{id}
shows it), its stored events and the messages sent to it, both newest first and paged
by an opaque cursor. Shared by the API and the CLI, so both say the same thing.

A message is what the ledger recorded (every attempt: pending, sent, not_sent, failed)
or, for a message.sent with no ledger row (a message.sent posted from outside), what
the sent_messages read model holds. The text is only known when the outbox provider
stored it; SMS segments and encoding come from the message.sent event, which counted
the text actually sent, or else from the outbox text."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, or_, select, union_all

from domain import sms
from domain.events import EventType, sent_event_id
from projections.contacts import load_snapshot
from projections.preferences import contact_choices
from projections.schema import contacts, events, message_ledger, outbox_messages, sent_messages

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
# Profile fields kept on the contact itself; the read model also files them as attributes.
_PROFILE = ("email", "phone")
_GROUPS = ("contact", "tags", "attributes", "channels", "products", "subscriptions")
# notify_team's texts are ledgered as team_sms (activities/team_notify.py).
_SMS_CHANNELS = ("sms", "team_sms")


def contact_view(conn: Connection, contact_id: str) -> dict[str, Any] | None:
    """The contact as GET /v1/contacts/{id} answers it; None for an unknown contact."""
    snapshot = load_snapshot(conn, contact_id, _GROUPS)
    if snapshot is None:
        return None
    return {
        "contact_id": contact_id,
        "email": snapshot.email,
        "phone": snapshot.phone,
        "attributes": {k: v for k, v in snapshot.attributes.items() if k not in _PROFILE},
        "tags": sorted(snapshot.tags),
        "unsubscribed": sorted(snapshot.unsubscribed),
        "products": sorted(snapshot.products),
        "subscriptions": snapshot.subscriptions,
        "unsubscribed_topics": _topics_left(conn, contact_id),
        "created_at": snapshot.created_at,
        "last_active_at": snapshot.last_active_at,
    }


def _topics_left(conn: Connection, contact_id: str) -> dict[str, list[str]]:
    """Channel -> topics left there (preference page, one-click unsubscribe), read as the
    preference page and the console read them."""
    left: dict[str, list[str]] = {}
    for topic, channel in sorted(contact_choices(conn, contact_id).topics_left):
        left.setdefault(channel, []).append(topic)
    return left


def known(conn: Connection, contact_id: str) -> bool:
    return (
        conn.execute(
            select(contacts.c.contact_id).where(contacts.c.contact_id == contact_id)
        ).first()
        is not None
    )


class BadCursor(ValueError):
    pass


def _encode(kind: str, value: list) -> str:
    raw = json.dumps([kind, *value], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(kind: str, cursor: str, width: int) -> list:
    """The values a cursor of this kind holds; a cursor of the other list, or one edited
    by hand, is refused rather than read as some other position."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):  # deep nesting: hand-made
        raise BadCursor("not a cursor this list gave (pass its `next` unchanged)") from None
    if not (isinstance(decoded, list) and len(decoded) == width + 1 and decoded[0] == kind):
        raise BadCursor(f"not a cursor of the {kind} list (pass its `next` unchanged)")
    return decoded[1:]


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next: str | None  # the cursor of the page after this one; None on the last page


def contact_events(
    conn: Connection, contact_id: str, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page:
    """Newest first in the store's order (position), which is the order they were
    recorded; occurred_at may run otherwise for events that arrived late."""
    E = events.c
    query = select(events).where(E.contact_id == contact_id)
    if cursor is not None:
        [before] = _decode("events", cursor, 1)
        if not isinstance(before, int):
            raise BadCursor("not a cursor of the events list (pass its `next` unchanged)")
        query = query.where(E.position < before)
    rows = conn.execute(query.order_by(E.position.desc()).limit(limit + 1)).all()
    shown = rows[:limit]
    items = [
        {
            "event_id": r.event_id,
            "type": r.type,
            "occurred_at": r.occurred_at,
            "recorded_at": r.recorded_at,
            "source": r.source,
            "payload": r.payload,
        }
        for r in shown
    ]
    more = len(rows) > limit
    return Page(items, _encode("events", [shown[-1].position]) if more else None)


def contact_messages(
    conn: Connection, contact_id: str, limit: int = DEFAULT_LIMIT, cursor: str | None = None
) -> Page:
    """Newest first by when the message was first attempted (for a message.sent with no
    ledger row, when it was sent)."""
    ML, SM = message_ledger.c, sent_messages.c
    attempted = select(ML.idempotency_key.label("key"), ML.created_at.label("at")).where(
        ML.contact_id == contact_id
    )
    unledgered = select(SM.message_key.label("key"), SM.sent_at.label("at")).where(
        SM.contact_id == contact_id, ~exists().where(ML.idempotency_key == SM.message_key)
    )
    every = union_all(attempted, unledgered).subquery()
    query = select(every.c.key, every.c.at)
    if cursor is not None:
        at, key = _decode("messages", cursor, 2)
        try:
            at = datetime.fromisoformat(at)
        except (TypeError, ValueError):
            raise BadCursor(
                "not a cursor of the messages list (pass its `next` unchanged)"
            ) from None
        query = query.where(or_(every.c.at < at, and_(every.c.at == at, every.c.key < key)))
    rows = conn.execute(
        query.order_by(every.c.at.desc(), every.c.key.desc()).limit(limit + 1)
    ).all()
    shown = rows[:limit]
    items = _describe(conn, [r.key for r in shown])
    more = len(rows) > limit
    last = shown[-1] if shown else None
    return Page(items, _encode("messages", [last.at.isoformat(), last.key]) if more else None)


def _describe(conn: Connection, keys: list[str]) -> list[dict[str, Any]]:
    """What each table recorded of these messages, in the order of `keys`."""
    if not keys:
        return []
    ML, SM, OM, E = message_ledger.c, sent_messages.c, outbox_messages.c, events.c
    ledger = {
        r.idempotency_key: r
        for r in conn.execute(select(message_ledger).where(ML.idempotency_key.in_(keys)))
    }
    sent = {
        r.message_key: r
        for r in conn.execute(select(sent_messages).where(SM.message_key.in_(keys)))
    }
    outboxed = {
        r.idempotency_key: r
        for r in conn.execute(
            select(OM.idempotency_key, OM.subject, OM.body).where(OM.idempotency_key.in_(keys))
        )
    }
    event_ids = {sent_event_id(key): key for key in keys}
    told = {
        event_ids[r.event_id]: r.payload
        for r in conn.execute(
            select(E.event_id, E.payload).where(
                E.event_id.in_(list(event_ids)), E.type == EventType.MESSAGE_SENT
            )
        )
    }
    # A message.sent posted from outside has an id of its own: found by its payload's
    # key among the contact's message.sent events (rare, so this read is too).
    strays = [key for key in keys if key in sent and key not in told]
    if strays:
        told |= {
            r.payload["message_key"]: r.payload
            for r in conn.execute(
                select(E.payload).where(
                    E.contact_id == sent[strays[0]].contact_id,
                    E.type == EventType.MESSAGE_SENT,
                    E.payload["message_key"].as_string().in_(strays),
                )
            )
        }
    return [
        _message(key, ledger.get(key), sent.get(key), outboxed.get(key), told.get(key, {}))
        for key in keys
    ]


def _message(key: str, ledger, sent, outboxed, told: dict) -> dict[str, Any]:
    channel = ledger.channel if ledger is not None else sent.channel
    text = outboxed.body if outboxed is not None else None
    segments, encoding = told.get("segments"), told.get("encoding")
    texted = channel in _SMS_CHANNELS
    if texted and segments is None and text is not None:
        segments, encoding = sms.segments(text), sms.encoding(text)
    return {
        "message_key": key,
        "channel": channel,
        "status": ledger.status if ledger is not None else "sent",
        "flow_id": sent.flow_id if sent is not None else told.get("flow_id"),
        "mailing_id": told.get("mailing_id"),
        "step_id": sent.step_id if sent is not None else told.get("step_id"),
        "to": sent.to_address if sent is not None else None,
        "subject": outboxed.subject if outboxed is not None else None,
        "text": text,
        "segments": segments if texted else None,
        "encoding": encoding if texted else None,
        "provider_message_id": (ledger.provider_message_id if ledger is not None else None)
        or (sent.provider_message_id if sent is not None else None),
        "transactional": bool(sent.transactional) if sent is not None else None,
        "attempts": ledger.attempts if ledger is not None else None,
        "detail": ledger.detail if ledger is not None else None,
        "created_at": ledger.created_at if ledger is not None else sent.sent_at,
        "sent_at": sent.sent_at if sent is not None else None,
    }
