"""Who each mailing step goes to, written as `pending` recipient rows with their send
times.

The main step reads the mailing's audience (every contact, the listed ones, or those
satisfying its condition); a later step reads the contacts the previous step *sent* to,
narrowed by its terms and condition [003]: everyone the previous step ran for, sent to
or skipped (an SMS step to those whose email was skipped as unsubscribed is the seed's
own example). Both walk keyset pages on contact_id, so a
selection resumed from its cursor continues right after the last contact it wrote, and a
page costs the same at the millionth contact as at the first. Rows are inserted with ON
CONFLICT DO NOTHING: a page selected twice (an activity retried after its commit) adds
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from domain.mailing import Mailing, MailingStep, message_key
from domain.scheduling import local_moment, resolve_zone, zone_attribute
from domain.scheduling.zones import ZONE_ATTRIBUTES, Zones
from projections.audience import satisfying
from projections.bulk import insert_returning
from projections.dialect import insert
from projections.mailing_schema import mailing_recipients
from projections.schema import channel_status, contact_attributes, contacts, email_engagement

R, C = mailing_recipients.c, contacts.c


@dataclass(frozen=True)
class SelectedPage:
    selected: int  # rows this call wrote (a repeated page writes none)
    scanned: int
    next_after: str | None


def select_page(
    engine: Engine,
    mailing: Mailing,
    step: MailingStep,
    after: str | None,
    limit: int,
    now: datetime,
    zones: Zones,
) -> SelectedPage:
    with engine.begin() as conn:
        previous = mailing.previous(step.id)
        if previous is None:
            candidates, members = _audience(conn, mailing, after, limit)
        else:
            candidates = members = _reached(conn, mailing.id, previous.id, after, limit)
        if not candidates:
            return SelectedPage(0, 0, None)
        if previous is None and mailing.audience.condition is not None:
            members = satisfying(conn, mailing.audience.condition, members, zones)
        if previous is not None and step.to == "terms":
            members = _matching_terms(conn, mailing.id, previous, step, members)
        members = satisfying(conn, step.condition, members, zones)
        due = _due_times(conn, step, members, now, zones)
        written = 0
        if members:
            written = len(
                insert_returning(
                    conn,
                    insert(conn, mailing_recipients)
                    .on_conflict_do_nothing(index_elements=["mailing_id", "step_id", "contact_id"])
                    .returning(R.contact_id),
                    [
                        {
                            "mailing_id": mailing.id,
                            "step_id": step.id,
                            "contact_id": c,
                            "status": "pending",
                            "due_at": due[c],
                        }
                        for c in members
                    ],
                )
            )
    next_after = candidates[-1] if len(candidates) == limit else None
    return SelectedPage(written, len(candidates), next_after)


def preview(
    engine: Engine, mailing: Mailing, limit: int = 20, page_size: int = 5000, zones: Zones = Zones()
) -> tuple[int, list[str]]:
    """(how many the main step would go to now, the first `limit` of them): the same
    pages and filters as selection, nothing written."""
    step, count, shown, after = mailing.steps[0], 0, [], None
    with engine.connect() as conn:
        while True:
            candidates, members = _audience(conn, mailing, after, page_size)
            members = satisfying(conn, mailing.audience.condition, members, zones)
            members = satisfying(conn, step.condition, members, zones)
            count += len(members)
            shown += members[: max(0, limit - len(shown))]
            if len(candidates) < page_size:
                return count, shown
            after = candidates[-1]


# Ids per IN (...) query when checking a listed audience: well under SQLite's bound.
_ID_CHUNK = 500


def unknown_listed(conn: Connection, mailing: Mailing) -> list[str]:
    """The listed audience's ids no event has mentioned (no contacts row): selection skips
    them, so validation and preview name them instead of leaving them out silently."""
    listed = sorted(set(mailing.audience.contacts or ()))
    known: set[str] = set()
    for start in range(0, len(listed), _ID_CHUNK):
        known.update(
            conn.execute(
                select(C.contact_id).where(C.contact_id.in_(listed[start : start + _ID_CHUNK]))
            ).scalars()
        )
    return [c for c in listed if c not in known]


def _audience(
    conn: Connection, mailing: Mailing, after: str | None, limit: int
) -> tuple[list[str], list[str]]:
    """(the next contacts examined, those of them the engine knows), in contact_id
    order: a listed contact no event has mentioned has nothing to send to."""
    listed = mailing.audience.contacts
    if listed is None:
        where = [] if after is None else [C.contact_id > after]
        known = list(
            conn.execute(
                select(C.contact_id).where(*where).order_by(C.contact_id).limit(limit)
            ).scalars()
        )
        return known, known
    wanted = sorted(c for c in set(listed) if after is None or c > after)[:limit]
    if not wanted:
        return [], []
    known = set(conn.execute(select(C.contact_id).where(C.contact_id.in_(wanted))).scalars())
    return wanted, [c for c in wanted if c in known]


def _reached(
    conn: Connection, mailing_id: str, step_id: str, after: str | None, limit: int
) -> list[str]:
    """Everyone the previous step was for, sent to or skipped: a step follows the
    previous one for each contact it ran for [003], so an SMS step can go to those the
    email step skipped because they had unsubscribed (the seed's own example)."""
    where = [R.mailing_id == mailing_id, R.step_id == step_id, R.status != "pending"]
    if after is not None:
        where.append(R.contact_id > after)
    return list(
        conn.execute(
            select(R.contact_id).where(*where).order_by(R.contact_id).limit(limit)
        ).scalars()
    )


def _matching_terms(
    conn: Connection,
    mailing_id: str,
    previous: MailingStep,
    step: MailingStep,
    contact_ids: list[str],
) -> list[str]:
    """All terms must hold. Opens and clicks are those of the previous step's own
    message (its ledger key is the engagement's message_key)."""
    members = set(contact_ids)
    terms = set(step.terms)
    engagement_kinds = {"open": {"opened", "not_opened"}, "click": {"clicked", "not_clicked"}}
    for kind, pair in engagement_kinds.items():
        if not terms & pair:
            continue
        keys = [message_key(mailing_id, previous.id, c) for c in contact_ids]
        touched = set(
            conn.execute(
                select(email_engagement.c.contact_id).where(
                    email_engagement.c.contact_id.in_(contact_ids),
                    email_engagement.c.kind == kind,
                    email_engagement.c.message_key.in_(keys),
                )
            ).scalars()
        )
        positive = "opened" if kind == "open" else "clicked"
        members &= touched if positive in terms else (members - touched)
    if terms & {"unsubscribed_email", "subscribed_email"}:
        opted_out = set(
            conn.execute(
                select(channel_status.c.contact_id).where(
                    channel_status.c.contact_id.in_(contact_ids),
                    channel_status.c.channel == "email",
                    channel_status.c.list_id == "",
                    channel_status.c.unsubscribed.is_(True),
                )
            ).scalars()
        )
        members &= opted_out if "unsubscribed_email" in terms else (members - opted_out)
    return [c for c in contact_ids if c in members]


def _due_times(
    conn: Connection, step: MailingStep, contact_ids: list[str], now: datetime, zones: Zones
) -> dict[str, datetime]:
    """When each recipient's message goes: now, the step's `at`, or its `local_at` in the
    recipient's zone (attribute, else phone, else the system default); never before now."""
    when = step.when
    if when is None or when.local_at is None:
        at = max(now, when.at) if when is not None and when.at is not None else now
        return {c: at for c in contact_ids}
    phones = dict(
        conn.execute(select(C.contact_id, C.phone).where(C.contact_id.in_(contact_ids))).all()
    )
    attributes: dict[str, dict] = {}
    for contact_id, name, value in conn.execute(
        select(
            contact_attributes.c.contact_id, contact_attributes.c.name, contact_attributes.c.value
        ).where(
            contact_attributes.c.contact_id.in_(contact_ids),
            contact_attributes.c.name.in_(ZONE_ATTRIBUTES),
        )
    ):
        attributes.setdefault(contact_id, {})[name] = value
    due = {}
    for contact_id in contact_ids:
        zone, _ = resolve_zone(
            zone_attribute(attributes.get(contact_id, {})),
            phones.get(contact_id),
            zones.default_zone,
            default_region=zones.default_region,
        )
        due[contact_id] = max(now, local_moment(when.local_at, zone))
    return due
