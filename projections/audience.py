"""A flow's audience: who an "enroll existing" backfill would start journeys for, and
the preview shown before publishing [004].

A contact belongs when (1) it is known (has a contact row), (2) its history holds an
event that would have triggered the flow: the trigger's event type with its `where`
filters, judged by Trigger.matches_event exactly as the router judges a new event, and
(3) it satisfies the trigger's condition now, read from a snapshot holding only the
fact groups the condition needs (as Router._snapshot does).

Pages are keyset pages on contact_id: a page after the millionth contact costs what the
first one does, and a backfill resumed from its cursor starts right after the last
contact it handled, whatever was ingested meanwhile. `limit` bounds the contacts a page
*examines*, not the members it returns, so a page's cost is bounded even when few match.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select

from domain.conditions import (
    Condition,
    ContactSnapshot,
    evaluate,
    fact_groups,
    lead_event_names,
    uses_contact_zone,
)
from domain.flow import Flow, Trigger
from domain.scheduling.zones import Zones, with_zone
from projections.contacts import load_snapshot
from projections.schema import contacts, events

EV, C = events.c, contacts.c
PREVIEW_PAGE_SIZE = 500


@dataclass(frozen=True)
class AudiencePage:
    contact_ids: list[str]  # the page's members, in contact_id order
    next_after: str | None  # the cursor for the next page; None when this was the last
    scanned: int  # contacts examined (had an event of the trigger's type)


@dataclass(frozen=True)
class AudiencePreview:
    count: int
    contacts: list[dict[str, str | None]] = field(default_factory=list)  # contact_id, email, phone


def audience_page(engine: Engine, flow: Flow, after: str | None, limit: int) -> AudiencePage:
    """The members among the next `limit` contacts (by contact_id, after `after`) that
    have an event of the trigger's type. Three reads at most: the candidates (walking
    the events index on (contact_id, type)), their trigger events' payloads when the
    trigger has `where` filters, and a snapshot per remaining contact when the condition
    reads data."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    trigger = flow.trigger
    with engine.connect() as conn:
        candidates = _candidates(conn, trigger.event, after, limit)
        if not candidates:
            return AudiencePage([], None, 0)
        matched = _matching_trigger(conn, trigger, after, candidates)
        members = satisfying(conn, trigger.condition, matched)
    next_after = candidates[-1] if len(candidates) == limit else None
    return AudiencePage(members, next_after, len(candidates))


def audience_pages(
    engine: Engine, flow: Flow, page_size: int = PREVIEW_PAGE_SIZE, after: str | None = None
) -> Iterator[AudiencePage]:
    """Every page from `after` to the end, read one at a time."""
    while True:
        page = audience_page(engine, flow, after, page_size)
        yield page
        if page.next_after is None:
            return
        after = page.next_after


def preview(
    engine: Engine, flow: Flow, limit: int = 20, page_size: int = PREVIEW_PAGE_SIZE
) -> AudiencePreview:
    """The audience's size and its first `limit` members with their addresses. Counting
    streams every page: the audience is defined by the condition *now*, which no index
    can answer, so there is no cheaper exact count."""
    count, shown = 0, []
    for page in audience_pages(engine, flow, page_size):
        count += len(page.contact_ids)
        shown += page.contact_ids[: max(0, limit - len(shown))]
    return AudiencePreview(count, profiles(engine, shown))


def _candidates(conn: Connection, event_type: str, after: str | None, limit: int) -> list[str]:
    where = [EV.type == event_type]
    if after is not None:
        where.append(EV.contact_id > after)
    return list(
        conn.execute(
            select(EV.contact_id).where(*where).distinct().order_by(EV.contact_id).limit(limit)
        ).scalars()
    )


def _matching_trigger(
    conn: Connection, trigger: Trigger, after: str | None, candidates: list[str]
) -> list[str]:
    """The known candidates with at least one event passing the trigger's filters. Every
    contact with an event of that type in (after, last candidate] is a candidate, so
    that range selects exactly the candidates' trigger events."""
    in_range = [EV.contact_id <= candidates[-1]]
    if after is not None:
        in_range.append(EV.contact_id > after)
    if not trigger.where:
        known = set(
            conn.execute(select(C.contact_id).where(C.contact_id.in_(candidates))).scalars()
        )
        return [c for c in candidates if c in known]
    rows = conn.execute(
        select(EV.contact_id, EV.payload)
        .join(contacts, C.contact_id == EV.contact_id)
        .where(EV.type == trigger.event, *in_range)
    )
    hits = {
        contact_id
        for contact_id, payload in rows
        if trigger.matches_event(trigger.event, payload or {})
    }
    return [c for c in candidates if c in hits]


def satisfying(
    conn: Connection, condition: Condition | None, contact_ids: list[str], zones: Zones = Zones()
) -> list[str]:
    """The contacts, in their order, that satisfy `condition` now (all of them for None).
    `zones`: the deployment's defaults, for clock conditions in the contact's own zone."""
    if condition is None or not contact_ids:
        return contact_ids
    groups, names = fact_groups(condition), lead_event_names(condition)
    in_contact_zone = uses_contact_zone(condition)
    now = datetime.now(UTC)
    members = []
    for contact_id in contact_ids:
        # Clock-only conditions need no data, as in the router.
        snapshot = (
            load_snapshot(conn, contact_id, groups, lead_events=names)
            if groups
            else ContactSnapshot(contact_id=contact_id)
        )
        if snapshot is not None and in_contact_zone:
            snapshot = with_zone(snapshot, zones)
        if snapshot is not None and evaluate(condition, snapshot, now):
            members.append(contact_id)
    return members


def profiles(engine: Engine, contact_ids: list[str]) -> list[dict[str, str | None]]:
    if not contact_ids:
        return []
    with engine.connect() as conn:
        rows = {
            row.contact_id: row
            for row in conn.execute(
                select(C.contact_id, C.email, C.phone).where(C.contact_id.in_(contact_ids))
            )
        }
    return [
        {"contact_id": c, "email": rows[c].email, "phone": rows[c].phone}
        for c in contact_ids
        if c in rows
    ]
