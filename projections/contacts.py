"""Read side for conditions and message rendering: one contact as a snapshot.

A condition names the fact groups it reads (domain.conditions.fact_groups). The contact
row and each wanted group come back in ONE statement: every group is a correlated
subquery aggregated into a JSON array, so an evaluation costs one round trip (on
PostgreSQL, round trips were most of a branch step's latency). Every subquery is by
contact_id, the leading key column of each read model."""

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Engine, Row, and_, or_, select, type_coerce

from domain.conditions import FACT_GROUPS, ContactSnapshot
from domain.contact_facts import EmailTouch, LeadEventFact
from domain.events import EventType
from projections.dialect import among, json_rows, json_value
from projections.schema import (
    channel_status,
    contact_attributes,
    contact_products,
    contact_tags,
    contacts,
    course_progress,
    course_steps,
    email_engagement,
    events,
    form_submissions,
    funnel_members,
    page_visits,
    purchases,
    sent_messages,
    subscriptions,
)
from projections.topic_schema import topic_preferences

ALL_GROUPS = frozenset(FACT_GROUPS.values())
C = contacts.c


def load_snapshot(
    conn: Connection,
    contact_id: str,
    groups: Collection[str] | None = None,
    *,
    lead_events: Collection[str] | None = None,
) -> ContactSnapshot | None:
    """The contact with the given fact groups filled (None: all of them); None for a
    contact no event has mentioned. `lead_events` narrows the lead_events group to those
    event names (domain.conditions.lead_event_names); None reads every event."""
    wanted = ALL_GROUPS if groups is None else frozenset(groups)
    unknown = wanted - ALL_GROUPS
    if unknown:
        raise ValueError(f"unknown fact groups {sorted(unknown)}; known: {sorted(ALL_GROUPS)}")
    names = None if lead_events is None else sorted(lead_events)
    parts = {
        name: query
        for group in sorted(wanted)
        for name, query in _QUERIES[group](conn, names).items()
    }
    row = conn.execute(
        select(
            contacts,
            *(
                type_coerce(
                    select(json_rows(conn, *columns)).where(*where).scalar_subquery(), JSON
                ).label(name)
                for name, (columns, where) in parts.items()
            ),
        ).where(C.contact_id == contact_id)
    ).first()
    if row is None:
        return None
    results = {name: getattr(row, name) or [] for name in parts}
    facts: dict[str, Any] = {"contact_id": contact_id, "email": row.email, "phone": row.phone}
    for group in sorted(wanted):
        facts.update(_DECODERS[group](row, results))
    return ContactSnapshot(**facts)


def load_profiles(conn: Connection, contact_ids: Collection[str]) -> dict[str, ContactSnapshot]:
    """Many contacts' profiles (email, phone, attributes: what merge tags read) in two
    statements, for sends in bulk (mailings); unknown contacts are left out."""
    ids = list(contact_ids)
    if not ids:
        return {}
    rows = conn.execute(
        select(C.contact_id, C.email, C.phone).where(among(conn, C.contact_id, ids))
    ).all()
    attributes: dict[str, dict[str, Any]] = {}
    a = contact_attributes.c
    for contact_id, name, value in conn.execute(
        select(a.contact_id, a.name, a.value).where(among(conn, a.contact_id, ids))
    ):
        attributes.setdefault(contact_id, {})[name] = value
    return {
        row.contact_id: ContactSnapshot(
            contact_id=row.contact_id,
            email=row.email,
            phone=row.phone,
            attributes=attributes.get(row.contact_id, {}),
        )
        for row in rows
    }


def read_snapshot(
    engine: Engine,
    contact_id: str,
    groups: Collection[str] | None = None,
    *,
    lead_events: Collection[str] | None = None,
) -> ContactSnapshot:
    """load_snapshot on a connection of its own, outside any transaction: the load is a
    single statement, consistent by itself, and on PostgreSQL skipping BEGIN/ROLLBACK
    saves two of its three round trips. A contact no event has mentioned is empty."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        snapshot = load_snapshot(conn, contact_id, groups, lead_events=lead_events)
    return snapshot or ContactSnapshot(contact_id=contact_id)


def known_fields(conn: Connection) -> set[str]:
    """Attribute names at least one contact has: what merge tags can rely on."""
    return set(conn.execute(select(contact_attributes.c.name).distinct()).scalars())


def _at(value: str | None) -> datetime | None:
    """A timestamp that went through JSON: SQLite's stored text or PostgreSQL's ISO form
    (in the session's zone), both back to aware UTC."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


# group -> {result name: (columns, where clauses)}; each where correlates to the contact.
Query = dict[str, tuple[tuple, tuple]]


def _of(table) -> Any:
    return table.c.contact_id == C.contact_id


def _q_tags(conn, _names) -> Query:
    t = contact_tags.c
    return {"tags": ((t.tag,), (_of(contact_tags), t.present.is_(True)))}


def _q_attributes(conn, _names) -> Query:
    a = contact_attributes.c
    return {"attributes": ((a.name, json_value(conn, a.value)), (_of(contact_attributes),))}


def _q_products(conn, _names) -> Query:
    p = contact_products.c
    return {"products": ((p.product,), (_of(contact_products), p.present.is_(True)))}


def _q_purchases(conn, _names) -> Query:
    return {"purchased": ((purchases.c.product,), (_of(purchases),))}


def _q_subscriptions(conn, _names) -> Query:
    s = subscriptions.c
    return {"subscriptions": ((s.plan, s.active), (_of(subscriptions),))}


def _q_courses(conn, _names) -> Query:
    p, s = course_progress.c, course_steps.c
    return {
        "course_progress": ((p.course, p.completed_at), (_of(course_progress),)),
        "course_steps": ((s.course, s.step), (_of(course_steps),)),
    }


def _q_engagement(conn, _names) -> Query:
    # Providers often report a touch by message only; the message that was sent knows
    # its flow and step, so attribution is completed here, whatever arrived first.
    e, s = email_engagement.c, sent_messages.c
    sent_flow = (
        select(s.flow_id)
        .where(s.message_key == e.message_key, s.contact_id == e.contact_id)
        .scalar_subquery()
    )
    sent_step = (
        select(s.step_id)
        .where(s.message_key == e.message_key, s.contact_id == e.contact_id)
        .scalar_subquery()
    )
    return {
        "touches": (
            (
                e.kind,
                e.message_key,
                e.url,
                e.flow_id,
                e.step_id,
                sent_flow,
                sent_step,
                e.first_at,
                e.touch_key,
            ),
            (_of(email_engagement),),
        )
    }


def _q_channels(conn, _names) -> Query:
    ch = channel_status.c
    tp = topic_preferences.c
    return {
        "unsubscribed": (
            (ch.channel,),
            (_of(channel_status), ch.list_id == "", ch.unsubscribed.is_(True)),
        ),
        "topics_left": ((tp.topic, tp.channel), (_of(topic_preferences), tp.subscribed.is_(False))),
    }


def _q_web(conn, _names) -> Query:
    f, p, s = funnel_members.c, page_visits.c, form_submissions.c
    return {
        "funnels": ((f.funnel,), (_of(funnel_members),)),
        "pages": ((p.page, p.funnel), (_of(page_visits),)),
        "forms": ((s.form_id, s.last_at), (_of(form_submissions),)),
    }


def _q_lead_events(conn, names) -> Query:
    """Straight from the event store: an event type, or a custom event by its name."""
    ev = events.c
    where = [_of(events)]
    if names is not None:
        where.append(
            or_(
                ev.type.in_(names),
                and_(ev.type == EventType.CUSTOM, ev.payload["name"].as_string().in_(names)),
            )
        )
    return {
        "lead_events": (
            (ev.type, json_value(conn, ev.payload), ev.occurred_at, ev.position),
            tuple(where),
        )
    }


def _engagement(_row: Row, r: dict[str, list]) -> dict[str, Any]:
    # A stable order, so the same events give the same snapshot whatever their order.
    ordered = sorted(r["touches"], key=lambda t: (_at(t[7]), t[0], t[8]))
    opens, clicks = [], []
    for kind, message_key, url, own_flow, own_step, sent_flow, sent_step, *_ in ordered:
        touch = EmailTouch(
            message_key=message_key,
            flow_id=own_flow or sent_flow,
            step_id=own_step or sent_step,
            url=url,
        )
        (clicks if kind == "click" else opens).append(touch)
    # A click proves the email was opened even when its tracking pixel was blocked.
    opens += [touch.model_copy(update={"url": None}) for touch in clicks]
    return {"opens": tuple(opens), "clicks": tuple(clicks)}


def _lead_events(_row: Row, r: dict[str, list]) -> dict[str, Any]:
    facts = []
    for kind, payload, _occurred, _position in sorted(
        r["lead_events"], key=lambda e: (_at(e[2]), e[3])
    ):
        if kind == EventType.CUSTOM:
            facts.append(
                LeadEventFact(name=payload["name"], properties=payload.get("properties") or {})
            )
        else:
            facts.append(LeadEventFact(name=kind, properties=payload))
    return {"lead_events": tuple(facts)}


def _courses(row: Row, r: dict[str, list]) -> dict[str, Any]:
    progress = r["course_progress"]
    return {
        "has_course_account": row.course_account_at is not None,
        "courses_started": frozenset(course for course, _ in progress),
        "courses_completed": frozenset(course for course, done in progress if done),
        "course_steps": frozenset((course, step) for course, step in r["course_steps"]),
    }


Decoder = Callable[[Row, dict[str, list]], dict[str, Any]]

_QUERIES: dict[str, Callable[[Connection, list[str] | None], Query]] = {
    "contact": lambda conn, names: {},
    "tags": _q_tags,
    "attributes": _q_attributes,
    "products": _q_products,
    "purchases": _q_purchases,
    "subscriptions": _q_subscriptions,
    "courses": _q_courses,
    "engagement": _q_engagement,
    "channels": _q_channels,
    "web": _q_web,
    "lead_events": _q_lead_events,
}
_DECODERS: dict[str, Decoder] = {
    "contact": lambda row, r: {
        "created_at": row.created_at,
        "last_active_at": row.last_active_at,
        "last_reply": row.last_reply,
    },
    "tags": lambda row, r: {"tags": frozenset(tag for (tag,) in r["tags"])},
    "attributes": lambda row, r: {
        "attributes": {name: value for name, value in r["attributes"] if value is not None}
    },
    "products": lambda row, r: {"products": frozenset(p for (p,) in r["products"])},
    "purchases": lambda row, r: {"purchased": frozenset(p for (p,) in r["purchased"])},
    "subscriptions": lambda row, r: {
        "subscriptions": {plan: bool(active) for plan, active in r["subscriptions"]}
    },
    "courses": _courses,
    "engagement": _engagement,
    "channels": lambda row, r: {
        "unsubscribed": frozenset(c for (c,) in r["unsubscribed"]),
        "topics_left": frozenset((t, c) for t, c in r["topics_left"]),
    },
    "web": lambda row, r: {
        "funnels": frozenset(f for (f,) in r["funnels"]),
        "pages": frozenset((page, funnel) for page, funnel in r["pages"]),
        "form_submits": {form: _at(last) for form, last in r["forms"]},
    },
    "lead_events": _lead_events,
}
# A new fact group in domain.contact_facts needs a query and a decoder here; fail at
# import, not mid-journey.
assert set(_QUERIES) == set(_DECODERS) == ALL_GROUPS, sorted(ALL_GROUPS ^ set(_QUERIES))
