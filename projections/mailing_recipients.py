"""A mailing step's recipient rows on the send side: the next due batch, what is left,
and the outcomes written back, in the sending activity's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select

from domain.mailing_runs import StepOutcomes
from projections.bulk import execute_many
from projections.dialect import among
from projections.mailing_schema import mailing_recipients
from projections.schema import channel_status, contacts

R = mailing_recipients.c


def due(conn: Connection, mailing_id: str, step_id: str, now: datetime, limit: int) -> list[str]:
    """The pending recipients whose time has come, earliest first (then by contact, so
    a retried batch picks the same contacts)."""
    return list(
        conn.execute(
            select(R.contact_id)
            .where(
                R.mailing_id == mailing_id,
                R.step_id == step_id,
                R.status == "pending",
                R.due_at <= now,
            )
            .order_by(R.due_at, R.contact_id)
            .limit(limit)
        ).scalars()
    )


def outlook(
    engine: Engine, mailing_id: str, step_id: str, now: datetime, up_to: int = 1000
) -> tuple[int, datetime | None]:
    """(pending recipients due now, counted up to `up_to`; the earliest later send time).
    Capped: asked after every batch, a full count would read the whole rest of a large
    step each time (quadratic in its size)."""
    with engine.connect() as conn:
        mine = [R.mailing_id == mailing_id, R.step_id == step_id, R.status == "pending"]
        due = select(R.contact_id).where(*mine, R.due_at <= now).limit(up_to).subquery()
        due_now = conn.execute(select(func.count()).select_from(due)).scalar_one()
        later = conn.execute(select(func.min(R.due_at)).where(*mine, R.due_at > now)).scalar()
    return due_now, later


def outcomes(conn: Connection, mailing_id: str, step_id: str) -> StepOutcomes:
    """The step's sent, failed and skipped (by reason) recipients, counted once per step."""
    counted = StepOutcomes()
    for status, reason, count in conn.execute(
        select(R.status, R.reason, func.count())
        .where(R.mailing_id == mailing_id, R.step_id == step_id, R.status != "pending")
        .group_by(R.status, R.reason)
    ):
        if status == "sent":
            counted.sent += count
        elif status == "failed":
            counted.failed += count
        elif status == "skipped":
            counted.skipped[reason] = counted.skipped.get(reason, 0) + count
    return counted


def record(conn: Connection, mailing_id: str, step_id: str, outcomes: list[dict[str, Any]]) -> None:
    """outcomes: {contact_id, status, reason, detail, sent_at, converts_until}. Only
    pending rows change: an outcome written once is never overwritten by a retry."""
    if not outcomes:
        return
    execute_many(
        conn,
        mailing_recipients.update()
        .where(
            R.mailing_id == mailing_id,
            R.step_id == step_id,
            R.contact_id == bindparam("c"),
            R.status == "pending",
        )
        .values(
            status=bindparam("s"),
            reason=bindparam("r"),
            detail=bindparam("d"),
            sent_at=bindparam("at"),
            converts_until=bindparam("until"),
        ),
        [
            {
                "c": o["contact_id"],
                "s": o["status"],
                "r": o.get("reason"),
                "d": (o.get("detail") or None) and o["detail"][:2000],
                "at": o.get("sent_at"),
                "until": o.get("converts_until"),
            }
            for o in outcomes
        ],
    )


def opted_out(
    conn: Connection, channel: str, contact_ids: list[str], phone_forms: list[str] = ()
) -> tuple[set[str], set[str]]:
    """(contacts opted out of `channel` as a whole, phone forms held by any contact who
    replied STOP: carriers block the number, whoever holds it)."""
    S = channel_status.c
    out = [S.channel == channel, S.list_id == "", S.unsubscribed.is_(True)]
    contacts_out = set(
        conn.execute(
            select(S.contact_id).where(among(conn, S.contact_id, contact_ids), *out)
        ).scalars()
    )
    numbers_out: set[str] = set()
    if phone_forms:
        numbers_out = set(
            conn.execute(
                select(contacts.c.phone)
                .join(channel_status, S.contact_id == contacts.c.contact_id)
                .where(contacts.c.phone.in_(list(phone_forms)), *out)
            ).scalars()
        )
    return contacts_out, numbers_out


def bounced(conn: Connection, contact_ids: list[str], list_ids: list[str]) -> set[str]:
    """Contacts whose current address bounced permanently (its bounce list id)."""
    S = channel_status.c
    return set(
        conn.execute(
            select(S.contact_id).where(
                among(conn, S.contact_id, contact_ids),
                S.channel == "email",
                S.list_id.in_(list_ids),
                S.unsubscribed.is_(True),
            )
        ).scalars()
    )
