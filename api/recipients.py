"""Who a provider event is about: our contact ids, found from what the provider knows
(the message we sent, an email address, a phone number)."""

import hashlib
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from activities.phones import stored_forms
from projections.schema import contacts, sent_messages


@dataclass(frozen=True)
class SentMessage:
    contact_id: str
    message_key: str
    flow_id: str | None
    step_id: str | None


def contacts_by_email(conn: Connection, addresses: set[str]) -> dict[str, list[str]]:
    """Lower-cased address -> contact ids holding it (several contacts may share one)."""
    if not addresses:
        return {}
    found: dict[str, list[str]] = {}
    rows = conn.execute(
        select(func.lower(contacts.c.email).label("email"), contacts.c.contact_id)
        .where(func.lower(contacts.c.email).in_(sorted(addresses)))
        .order_by(contacts.c.contact_id)
    )
    for row in rows:
        found.setdefault(row.email, []).append(row.contact_id)
    return found


def contacts_by_phone(conn: Connection, raw: str, e164: str) -> list[str]:
    return list(
        conn.execute(
            select(contacts.c.contact_id)
            .where(contacts.c.phone.in_(stored_forms(raw, e164)))
            .order_by(contacts.c.contact_id)
        ).scalars()
    )


def sent_sms(conn: Connection, message_sid: str) -> SentMessage | None:
    row = conn.execute(
        select(sent_messages).where(
            sent_messages.c.channel == "sms", sent_messages.c.provider_message_id == message_sid
        )
    ).first()
    if row is None:
        return None
    return SentMessage(row.contact_id, row.message_key, row.flow_id, row.step_id)


def phone_contact_id(e164: str) -> str:
    """A contact id for a number no contact has: derived from the number, so every
    message from it lands on the same contact, yet opaque (ids reach workflow ids and
    the Temporal UI, where no phone number may appear)."""
    return "sms-" + hashlib.sha256(e164.encode()).hexdigest()[:24]


def stable_event_id(*parts: str) -> str:
    """An event id from provider ids: readable when the parts fit the id format, else a
    digest, so a redelivered webhook always yields the same id."""
    joined = ":".join(parts)
    if len(joined) <= 200 and all(c.isascii() and (c.isalnum() or c in "_.:/-") for c in joined):
        return joined
    return f"{parts[0]}:{hashlib.sha256(joined.encode()).hexdigest()}"


def per_contact(base: str, contact_ids: list[str]) -> list[tuple[str, str]]:
    """(contact id, event id) for each contact an event is about; the first keeps the
    plain id, the others get theirs appended, so ids stay unique and stable."""
    return [
        (cid, base if i == 0 else stable_event_id(base, cid)) for i, cid in enumerate(contact_ids)
    ]
