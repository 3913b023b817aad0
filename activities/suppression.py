"""Who must not be messaged: opt-outs and dead addresses, read from channel_status.

Checked before every send (and before any ledger row is written, so a suppressed
message leaves no trace but the step's outcome)."""

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, func, select

from domain.frequency import FrequencyCap
from projections.dialect import among
from projections.projectors.engagement import bounce_list_id
from projections.schema import channel_status, contacts, sent_messages
from projections.topic_schema import topic_preferences


def email_suppression(
    conn: Connection, contact_id: str, address: str, *, transactional: bool = False
) -> str | None:
    """Why this contact's email must not go out, or None. A transactional email (a
    receipt, a notice) is not marketing: an email opt-out does not stop it; a bounced
    address does."""
    rows = set(
        conn.execute(
            select(channel_status.c.list_id).where(
                channel_status.c.contact_id == contact_id,
                channel_status.c.channel == "email",
                channel_status.c.unsubscribed.is_(True),
                channel_status.c.list_id.in_(["", bounce_list_id(address)]),
            )
        ).scalars()
    )
    if "" in rows and not transactional:
        return "contact unsubscribed from email"
    if rows - {""}:
        return "the address bounced permanently"
    return None


def topic_opt_outs(
    conn: Connection, channel: str, topic: str, contact_ids: Collection[str]
) -> set[str]:
    """The contacts who opted out of `topic` on `channel` (their preference page, a
    one-click unsubscribe): marketing messages of that topic skip them."""
    T = topic_preferences.c
    return set(
        conn.execute(
            select(T.contact_id).where(
                among(conn, T.contact_id, contact_ids),
                T.topic == topic,
                T.channel == channel,
                T.subscribed.is_(False),
            )
        ).scalars()
    )


def topic_reason(topic: str, channel: str) -> str:
    return f"contact opted out of topic {topic!r} on {channel}"


def sms_suppression(conn: Connection, contact_id: str, phone_forms: list[str]) -> str | None:
    """An SMS opt-out (STOP) belongs to the number as much as to the contact: carriers
    block the number, so any contact holding it who opted out suppresses it."""
    holders = select(contacts.c.contact_id).where(contacts.c.phone.in_(phone_forms))
    found = conn.execute(
        select(channel_status.c.contact_id)
        .where(
            channel_status.c.channel == "sms",
            channel_status.c.list_id == "",
            channel_status.c.unsubscribed.is_(True),
            (channel_status.c.contact_id == contact_id) | channel_status.c.contact_id.in_(holders),
        )
        .limit(1)
    ).first()
    return "contact unsubscribed from sms (replied STOP)" if found else None


def capped(
    conn: Connection,
    channel: str,
    contact_ids: Collection[str],
    cap: FrequencyCap,
    now: datetime,
    exclude_key: str | None = None,
) -> set[str]:
    """The contacts who already got `cap.messages` messages on `channel` in the window
    ending now, from any flow or mailing (sent_messages holds every message.sent);
    transactional messages do not count.
    `exclude_key`: the message being sent, when a retry may find it counted already."""
    S = sent_messages.c
    where = [
        S.contact_id.in_(list(contact_ids)),
        S.channel == channel,
        S.sent_at > now - cap.within,
        S.transactional.is_not(True),
    ]
    if exclude_key is not None:
        where.append(S.message_key != exclude_key)
    return set(
        conn.execute(
            select(S.contact_id)
            .where(*where)
            .group_by(S.contact_id)
            .having(func.count() >= cap.messages)
        ).scalars()
    )
