"""Counts per mailing step [003]: audience, sent, skipped by reason, failed, delivered,
opened, clicked, bounced, unsubscribed, converted, and those still pending.

All from the recipient rows and the read models, never from the workflow: a message of a
step is known by its ledger key `mailing/<id>/<step>/<contact>`, which providers echo in
their delivery, open, click and bounce reports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, String, and_, exists, func, literal, select
from sqlalchemy.orm import aliased

from domain.events import EventType
from domain.mailing import SKIP_REASONS, Mailing, MailingStep, message_key
from projections.dialect import json_field
from projections.mailing_schema import mailing_recipients
from projections.schema import channel_status, email_engagement, events

R = mailing_recipients.c


def step_counts(conn: Connection, mailing: Mailing) -> list[dict[str, Any]]:
    return [_counts(conn, mailing, step) for step in mailing.steps]


def _counts(conn: Connection, mailing: Mailing, step: MailingStep) -> dict[str, Any]:
    mine = [R.mailing_id == mailing.id, R.step_id == step.id]
    by_status: dict[str, int] = {}
    skipped = {reason: 0 for reason in SKIP_REASONS}
    for status, reason, count in conn.execute(
        select(R.status, R.reason, func.count()).where(*mine).group_by(R.status, R.reason)
    ):
        by_status[status] = by_status.get(status, 0) + count
        if status == "skipped":
            skipped[reason] = skipped.get(reason, 0) + count
    prefix = message_key(mailing.id, step.id, "")
    counts = {
        "step_id": step.id,
        "channel": step.channel,
        "audience": sum(by_status.values()),
        "pending": by_status.get("pending", 0),
        "sent": by_status.get("sent", 0),
        "failed": by_status.get("failed", 0),
        "skipped": skipped,
        "delivered": _reported(conn, EventType.EMAIL_DELIVERED, prefix),
        "bounced": _reported(conn, EventType.EMAIL_BOUNCED, prefix),
        "opened": _engaged(conn, mailing.id, step.id, "open"),
        "clicked": _engaged(conn, mailing.id, step.id, "click"),
        "unsubscribed": _unsubscribed(conn, mailing.id, step),
        "converted": _converted(conn, mailing.id, step),
    }
    if step.channel == "sms":
        counts["delivered"] = _reported(
            conn, EventType.SMS_STATUS_CHANGED, prefix, status="delivered"
        )
    return counts


def _engaged(conn: Connection, mailing_id: str, step_id: str, kind: str) -> int:
    """Recipients the step sent to who opened (clicked) that very message."""
    E = email_engagement.c
    return conn.execute(
        select(func.count(func.distinct(E.contact_id)))
        .select_from(mailing_recipients)
        .join(
            email_engagement,
            and_(
                E.contact_id == R.contact_id,
                E.kind == kind,
                E.message_key
                == literal(message_key(mailing_id, step_id, ""), String) + R.contact_id,
            ),
        )
        .where(R.mailing_id == mailing_id, R.step_id == step_id, R.status == "sent")
    ).scalar_one()


def _reported(conn: Connection, event_type: str, prefix: str, status: str | None = None) -> int:
    """Distinct messages of the step a provider reported on (by their ledger key)."""
    key = json_field(conn, events.c.payload, "message_key")
    where = [events.c.type == event_type, key.startswith(prefix, autoescape=True)]
    if status is not None:
        where.append(json_field(conn, events.c.payload, "status") == status)
    return conn.execute(select(func.count(func.distinct(key))).where(*where)).scalar_one()


def _unsubscribed(conn: Connection, mailing_id: str, step: MailingStep) -> int:
    """Recipients of the step who opted out of its channel since it reached them."""
    S = channel_status.c
    return conn.execute(
        select(func.count())
        .select_from(mailing_recipients)
        .join(
            channel_status,
            and_(
                S.contact_id == R.contact_id,
                S.channel == step.channel,
                S.list_id == "",
                S.unsubscribed.is_(True),
                S.changed_at >= R.sent_at,
            ),
        )
        .where(R.mailing_id == mailing_id, R.step_id == step.id, R.status == "sent")
    ).scalar_one()


def _converted(conn: Connection, mailing_id: str, step: MailingStep) -> int:
    """Recipients with the goal's event within the window after this step reached them,
    and no later step of the mailing reaching them before it: a conversion counts for
    the last step that reached the contact, never for two [003]."""
    if step.conversion is None:
        return 0
    later = aliased(mailing_recipients)
    E = events.c
    goal = and_(
        E.contact_id == R.contact_id,
        E.type == step.conversion.event,
        E.occurred_at >= R.sent_at,
        E.occurred_at <= R.converts_until,
        ~exists().where(
            later.c.mailing_id == R.mailing_id,
            later.c.contact_id == R.contact_id,
            later.c.status == "sent",
            later.c.sent_at > R.sent_at,
            later.c.sent_at <= E.occurred_at,
        ),
    )
    return conn.execute(
        select(func.count(func.distinct(R.contact_id)))
        .select_from(mailing_recipients)
        .join(events, goal)
        .where(R.mailing_id == mailing_id, R.step_id == step.id, R.status == "sent")
    ).scalar_one()
