"""Read side for conditions and message rendering: one contact as a snapshot.

A condition names the fact groups it reads (domain.conditions.fact_groups); loading only
those keeps an evaluation to the contact row plus a few indexed queries, which is most
of a branch step's latency. Every query is by contact_id, the leading key column of
each read model."""

from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Connection, Row, and_, or_, select

from domain.conditions import FACT_GROUPS, ContactSnapshot
from domain.contact_facts import EmailTouch, LeadEventFact
from domain.events import EventType
from projections.schema import (
    channel_status, contact_attributes, contact_products, contact_tags, contacts, course_progress,
    course_steps, email_engagement, events, form_submissions, funnel_members, page_visits,
    purchases, sent_messages, subscriptions,
)

ALL_GROUPS = frozenset(FACT_GROUPS.values())


def load_snapshot(conn: Connection, contact_id: str, groups: Collection[str] | None = None,
                  *, lead_events: Collection[str] | None = None) -> ContactSnapshot | None:
    """The contact with the given fact groups filled (None: all of them); None for a
    contact no event has mentioned. `lead_events` narrows the lead_events group to those
    event names (domain.conditions.lead_event_names); None reads every event."""
    row = conn.execute(select(contacts).where(contacts.c.contact_id == contact_id)).first()
    if row is None:
        return None
    wanted = ALL_GROUPS if groups is None else frozenset(groups)
    unknown = wanted - ALL_GROUPS
    if unknown:
        raise ValueError(f"unknown fact groups {sorted(unknown)}; known: {sorted(ALL_GROUPS)}")
    facts: dict[str, Any] = {"contact_id": contact_id, "email": row.email, "phone": row.phone}
    for group in sorted(wanted):
        facts.update(_LOADERS[group](conn, row, lead_events))
    return ContactSnapshot(**facts)


def known_fields(conn: Connection) -> set[str]:
    """Attribute names at least one contact has: what merge tags can rely on."""
    return set(conn.execute(select(contact_attributes.c.name).distinct()).scalars())


Loader = Callable[[Connection, Row, Collection[str] | None], dict[str, Any]]


def _contact(conn, row, _names) -> dict[str, Any]:
    return {"created_at": row.created_at, "last_active_at": row.last_active_at,
            "last_reply": row.last_reply}


def _tags(conn, row, _names) -> dict[str, Any]:
    return {"tags": frozenset(conn.execute(
        select(contact_tags.c.tag).where(contact_tags.c.contact_id == row.contact_id,
                                         contact_tags.c.present.is_(True))).scalars())}


def _attributes(conn, row, _names) -> dict[str, Any]:
    rows = conn.execute(select(contact_attributes.c.name, contact_attributes.c.value)
                        .where(contact_attributes.c.contact_id == row.contact_id))
    return {"attributes": {r.name: r.value for r in rows if r.value is not None}}


def _products(conn, row, _names) -> dict[str, Any]:
    return {"products": frozenset(conn.execute(
        select(contact_products.c.product).where(contact_products.c.contact_id == row.contact_id,
                                                 contact_products.c.present.is_(True))).scalars())}


def _purchases(conn, row, _names) -> dict[str, Any]:
    return {"purchased": frozenset(conn.execute(
        select(purchases.c.product).distinct()
        .where(purchases.c.contact_id == row.contact_id)).scalars())}


def _subscriptions(conn, row, _names) -> dict[str, Any]:
    rows = conn.execute(select(subscriptions.c.plan, subscriptions.c.active)
                        .where(subscriptions.c.contact_id == row.contact_id))
    return {"subscriptions": {r.plan: r.active for r in rows}}


def _courses(conn, row, _names) -> dict[str, Any]:
    progress = conn.execute(select(course_progress.c.course, course_progress.c.completed_at)
                            .where(course_progress.c.contact_id == row.contact_id)).all()
    steps = conn.execute(select(course_steps.c.course, course_steps.c.step)
                         .where(course_steps.c.contact_id == row.contact_id)).all()
    return {"has_course_account": row.course_account_at is not None,
            "courses_started": frozenset(p.course for p in progress),
            "courses_completed": frozenset(p.course for p in progress if p.completed_at),
            "course_steps": frozenset((s.course, s.step) for s in steps)}


def _engagement(conn, row, _names) -> dict[str, Any]:
    # Providers often report a touch by message only; the message that was sent knows
    # its flow and step, so attribution is completed here, whatever arrived first.
    e, s = email_engagement, sent_messages
    rows = conn.execute(
        select(e.c.kind, e.c.message_key, e.c.url,
               e.c.flow_id.label("own_flow"), e.c.step_id.label("own_step"),
               s.c.flow_id.label("sent_flow"), s.c.step_id.label("sent_step"))
        .select_from(e.outerjoin(s, and_(s.c.message_key == e.c.message_key,
                                         s.c.contact_id == e.c.contact_id)))
        .where(e.c.contact_id == row.contact_id)
        # A stable order, so the same events give the same snapshot whatever their order.
        .order_by(e.c.first_at, e.c.kind, e.c.touch_key))
    opens, clicks = [], []
    for r in rows:
        touch = EmailTouch(message_key=r.message_key, flow_id=r.own_flow or r.sent_flow,
                           step_id=r.own_step or r.sent_step, url=r.url)
        (clicks if r.kind == "click" else opens).append(touch)
    # A click proves the email was opened even when its tracking pixel was blocked.
    opens += [touch.model_copy(update={"url": None}) for touch in clicks]
    return {"opens": tuple(opens), "clicks": tuple(clicks)}


def _channels(conn, row, _names) -> dict[str, Any]:
    return {"unsubscribed": frozenset(conn.execute(
        select(channel_status.c.channel).where(
            channel_status.c.contact_id == row.contact_id, channel_status.c.list_id == "",
            channel_status.c.unsubscribed.is_(True))).scalars())}


def _web(conn, row, _names) -> dict[str, Any]:
    contact_id = row.contact_id
    funnels = conn.execute(select(funnel_members.c.funnel)
                           .where(funnel_members.c.contact_id == contact_id)).scalars()
    pages = conn.execute(select(page_visits.c.page, page_visits.c.funnel)
                         .where(page_visits.c.contact_id == contact_id)).all()
    forms = conn.execute(select(form_submissions.c.form_id, form_submissions.c.last_at)
                         .where(form_submissions.c.contact_id == contact_id)).all()
    return {"funnels": frozenset(funnels), "pages": frozenset((p.page, p.funnel) for p in pages),
            "form_submits": {f.form_id: f.last_at for f in forms}}


def _lead_events(conn, row, names) -> dict[str, Any]:
    """Straight from the event store: an event type, or a custom event by its name."""
    query = select(events.c.type, events.c.payload).where(events.c.contact_id == row.contact_id)
    if names is not None:
        names = sorted(names)
        query = query.where(or_(
            events.c.type.in_(names),
            and_(events.c.type == EventType.CUSTOM, events.c.payload["name"].as_string().in_(names)),
        ))
    facts = []
    for r in conn.execute(query.order_by(events.c.occurred_at, events.c.position)):
        if r.type == EventType.CUSTOM:
            facts.append(LeadEventFact(name=r.payload["name"],
                                       properties=r.payload.get("properties") or {}))
        else:
            facts.append(LeadEventFact(name=r.type, properties=r.payload))
    return {"lead_events": tuple(facts)}


_LOADERS: dict[str, Loader] = {
    "tags": _tags, "attributes": _attributes, "contact": _contact, "products": _products,
    "purchases": _purchases, "subscriptions": _subscriptions, "courses": _courses,
    "engagement": _engagement, "channels": _channels, "web": _web, "lead_events": _lead_events,
}
# A new fact group in domain.contact_facts needs a loader here; fail at import, not mid-journey.
assert set(_LOADERS) == ALL_GROUPS, sorted(ALL_GROUPS ^ set(_LOADERS))
