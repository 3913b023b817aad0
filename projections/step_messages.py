"""Per-step message counts of one flow version [issue 15]: sent, delivered, opened,
clicked, bounced and unsubscribed, per step and, for experiment steps, per variant.

A message is one step visit's send, found by the visit's message key in sent_messages;
its variant is the experiment assignment recorded under that same key (None for plain
send steps). Provider reports are found by the key among the contact's events.

Unsubscribes attributed to a message: a channel opt-out, or an opt-out of the
message's own subscription topic on its channel (the preference page, a one-click
unsubscribe), after the message and before any later message that could have
prompted it (on that channel; for a topic, on that channel under that topic). The
topic is the step's own (topic_or_default; none for a transactional flow): a version's
document is what its messages were sent under."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from sqlalchemy import Connection, and_, case, exists, func, literal, null, select, union
from sqlalchemy.orm import aliased

from domain.events import EventType
from domain.flow import Flow
from domain.topics import topic_or_default
from projections.dialect import json_field
from projections.experiment_schema import experiment_assignments
from projections.schema import channel_status, email_engagement, events, sent_messages
from projections.step_schema import journey_step_visits
from projections.topic_schema import topic_preferences

V = journey_step_visits.c
SMS_DELIVERED = ("delivered",)
SMS_UNDELIVERED = ("undelivered", "failed")
COUNTS = ("sent", "delivered", "opened", "clicked", "bounced", "unsubscribed")

# (step_id, variant or None) -> count of distinct messages
Counts = Counter[tuple[str, str | None]]


def message_counts(
    conn: Connection, flow: Flow, topics: dict[str, str | None]
) -> dict[str, Counts]:
    """Every count of COUNTS for the messages of the steps in `topics` (step id -> the
    topic its messages went under, None for transactional ones)."""
    S, A = sent_messages.c, experiment_assignments.c
    sent = (
        select(V.step_id, V.message_key, V.contact_id, S.channel, S.sent_at, A.variant)
        .select_from(
            journey_step_visits.join(sent_messages, S.message_key == V.message_key).outerjoin(
                experiment_assignments, A.message_key == V.message_key
            )
        )
        .where(V.flow_id == flow.id, V.flow_version == flow.version, V.step_id.in_(list(topics)))
        .subquery()
    )
    return {
        "sent": _distinct(conn, [_keys(sent)]),
        "opened": _distinct(conn, [_engaged(sent, "open")]),
        "clicked": _distinct(conn, [_engaged(sent, "click")]),
        "delivered": _distinct(
            conn,
            [
                _reported(conn, sent, EventType.EMAIL_DELIVERED, "email"),
                _reported(conn, sent, EventType.SMS_STATUS_CHANGED, "sms", SMS_DELIVERED),
            ],
        ),
        "bounced": _distinct(
            conn,
            [
                _reported(conn, sent, EventType.EMAIL_BOUNCED, "email"),
                _reported(conn, sent, EventType.SMS_STATUS_CHANGED, "sms", SMS_UNDELIVERED),
            ],
        ),
        "unsubscribed": _distinct(
            conn, [_channel_opt_outs(sent), _topic_opt_outs(conn, sent, topics)]
        ),
    }


def step_topics(flow: Flow, step_ids: Iterable[str]) -> dict[str, str | None]:
    """The topic each step's messages went under (None: transactional, no topic)."""
    return {
        step_id: None
        if flow.transactional
        else topic_or_default(getattr(flow.step(step_id), "topic", None))
        for step_id in step_ids
    }


def _keys(sent, *where):
    return select(sent.c.step_id, sent.c.variant, sent.c.message_key).where(*where)


def _distinct(conn: Connection, queries: list) -> Counts:
    """Distinct messages per (step, variant) found by any of the queries."""
    inner = union(*queries).subquery() if len(queries) > 1 else queries[0].distinct().subquery()
    rows = conn.execute(
        select(inner.c[0], inner.c[1], func.count(inner.c[2].distinct())).group_by(
            inner.c[0], inner.c[1]
        )
    ).all()
    return Counter({(step_id, variant): count for step_id, variant, count in rows})


def _engaged(sent, kind: str):
    E = email_engagement.c
    return _keys(sent).join(
        email_engagement,
        and_(
            E.contact_id == sent.c.contact_id, E.kind == kind, E.message_key == sent.c.message_key
        ),
    )


def _reported(
    conn: Connection, sent, event_type: str, channel: str, statuses: Iterable[str] | None = None
):
    """Messages a provider reported on, found by their key among the contact's events."""
    key = json_field(conn, events.c.payload, "message_key")
    on = [
        events.c.contact_id == sent.c.contact_id,
        events.c.type == event_type,
        key == sent.c.message_key,
    ]
    if statuses is not None:
        on.append(json_field(conn, events.c.payload, "status").in_(list(statuses)))
    return _keys(sent, sent.c.channel == channel).join(events, and_(*on))


def _channel_opt_outs(sent):
    """An opt-out counts for the last message on its channel before it, never for two."""
    C, later = channel_status.c, aliased(sent_messages)
    opted_out = and_(
        C.contact_id == sent.c.contact_id,
        C.channel == sent.c.channel,
        C.list_id == "",
        C.unsubscribed.is_(True),
        C.changed_at >= sent.c.sent_at,
    )
    newer = exists().where(
        later.c.contact_id == sent.c.contact_id,
        later.c.channel == sent.c.channel,
        later.c.sent_at > sent.c.sent_at,
        later.c.sent_at <= C.changed_at,
    )
    return _keys(sent, ~newer).join(channel_status, opted_out)


def _topic_opt_outs(conn: Connection, sent, topics: dict[str, str | None]):
    """A topic opt-out counts for the last message of that topic on that channel before
    it. Later messages are told by the topic their message.sent carries (older events
    without one are not taken for that topic's)."""
    T = topic_preferences.c
    named = {step_id: topic for step_id, topic in topics.items() if topic is not None}
    if not named:
        return _keys(sent, literal(False))
    topic = case(named, value=sent.c.step_id, else_=null())
    left = and_(
        T.contact_id == sent.c.contact_id,
        T.channel == sent.c.channel,
        T.topic == topic,
        T.subscribed.is_(False),
        T.changed_at >= sent.c.sent_at,
    )
    payload = events.c.payload
    newer = exists().where(
        events.c.contact_id == sent.c.contact_id,
        events.c.type == EventType.MESSAGE_SENT,
        json_field(conn, payload, "channel") == sent.c.channel,
        json_field(conn, payload, "topic") == T.topic,
        events.c.occurred_at > sent.c.sent_at,
        events.c.occurred_at <= T.changed_at,
    )
    return _keys(sent, ~newer).join(topic_preferences, left)
