"""What the console's pages show, read from the same read models and modules the API
and the CLI use (flow catalogue, journey index, mailing reports, contact history), so
the console never says something the API would not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from console.step_numbers import flow_numbers, per_step
from domain.flow import Flow
from domain.mailing import Mailing
from projections import contact_history as history
from projections import flow_catalogue as catalogue
from projections import journey_index
from projections import mailings as mailing_catalogue
from projections.mailing_reports import step_counts
from projections.preferences import contact_choices
from projections.schema import channel_status, flow_versions
from projections.schema import journey_index as journey_table
from projections.topic_schema import topic_preferences

TIMELINE_LIMIT = 100


@dataclass(frozen=True)
class FlowRow:
    flow_id: str
    name: str | None
    status: str
    live_version: int
    versions: int
    has_draft: bool
    running: int


def flows(conn: Connection) -> list[FlowRow]:
    version_counts = dict(
        conn.execute(
            select(flow_versions.c.flow_id, func.count()).group_by(flow_versions.c.flow_id)
        ).all()
    )
    J = journey_table.c
    running = dict(
        conn.execute(
            select(J.flow_id, func.count())
            .where(J.status.in_(journey_index.LIVE))
            .group_by(J.flow_id)
        ).all()
    )
    return [
        FlowRow(
            r.flow_id,
            r.name,
            r.status.value,
            r.current_version,
            version_counts.get(r.flow_id, 0),
            r.draft is not None,
            running.get(r.flow_id, 0),
        )
        for r in catalogue.list_flows(conn)
    ]


@dataclass(frozen=True)
class FlowPage:
    record: catalogue.FlowRecord
    flow: Flow | None  # None: never published (only a draft)
    version: int
    versions: list[int]
    counts: dict[str, dict[str, Any]]
    live_journeys: int  # of the version shown
    unplaced: int  # live journeys that have not reported a step yet


def flow_page(conn: Connection, flow_id: str, version: int | None) -> FlowPage:
    """Raises UnknownFlow / UnknownVersion (the API's own errors) for what is not there."""
    record = catalogue.get_flow(conn, flow_id)
    if version is None and not record.current_version:
        return FlowPage(record, None, 0, [], {}, 0, 0)
    chosen = version if version is not None else record.current_version
    flow = catalogue.get_version(conn, flow_id, chosen)
    stats = flow_numbers(conn, flow_id, chosen)
    return FlowPage(
        record, flow, chosen, stats.versions, per_step(stats), stats.live_journeys, stats.unplaced
    )


@dataclass(frozen=True)
class MailingRow:
    mailing_id: str
    name: str | None
    status: str
    current_step: str | None
    audience: int
    done: int  # sent, skipped or failed: no longer pending
    sent: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.audience) if self.audience else 0


def mailings(conn: Connection) -> list[MailingRow]:
    rows = []
    for listed in mailing_catalogue.listed(conn):
        mailing = mailing_catalogue.load(conn, listed["mailing_id"])
        steps = step_counts(conn, mailing)
        audience = sum(s["audience"] for s in steps)
        pending = sum(s["pending"] for s in steps)
        rows.append(
            MailingRow(
                listed["mailing_id"],
                listed["name"],
                listed["status"],
                listed["current_step"],
                audience,
                audience - pending,
                sum(s["sent"] for s in steps),
            )
        )
    return rows


@dataclass(frozen=True)
class MailingPage:
    record: dict[str, Any]
    mailing: Mailing
    steps: list[dict[str, Any]]


def mailing_page(conn: Connection, mailing_id: str) -> MailingPage:
    """Raises MailingNotFound."""
    record = mailing_catalogue.get(conn, mailing_id)
    mailing = Mailing.model_validate(record["document"])
    return MailingPage(record, mailing, step_counts(conn, mailing))


@dataclass(frozen=True)
class Moment:
    """One line of a contact's timeline."""

    at: Any
    kind: str  # event | message | journey
    title: str
    detail: str


def contact_page(conn: Connection, contact_id: str) -> dict[str, Any] | None:
    """The contact, its journeys and one timeline of its events, messages and journey
    starts and ends, newest first; None for a contact nobody has heard of."""
    contact = history.contact_view(conn, contact_id)
    if contact is None:
        return None
    journeys = journey_index.for_contact(conn, contact_id)
    events = history.contact_events(conn, contact_id, TIMELINE_LIMIT).items
    messages = history.contact_messages(conn, contact_id, TIMELINE_LIMIT).items
    moments = [
        Moment(e["occurred_at"], "event", e["type"], _payload_line(e["payload"])) for e in events
    ]
    moments += [
        Moment(m["created_at"], "message", f"{m['channel']} {m['status']}", _message_line(m))
        for m in messages
    ]
    for j in journeys:
        moments.append(
            Moment(j.started_at, "journey", f"entered {j.flow_id}", f"version {j.flow_version}")
        )
        if j.ended_at is not None:
            moments.append(
                Moment(j.ended_at, "journey", f"left {j.flow_id}", f"version {j.flow_version}")
            )
    moments.sort(key=lambda m: m.at, reverse=True)
    choices = contact_choices(conn, contact_id)
    return {
        "contact": contact,
        "journeys": journeys,
        "timeline": moments,
        "topics_left": sorted(choices.topics_left),
    }


@dataclass(frozen=True)
class TopicRow:
    topic: str
    label: str
    left: dict[str, int]  # channel -> contacts who left the topic there


def topic_opt_outs(conn: Connection, topics: dict[str, str]) -> list[TopicRow]:
    """Per subscription topic and channel, the contacts who left it on the preference
    page (or by one-click); contacts who left a whole channel are counted apart."""
    T = topic_preferences.c
    counts = {
        (topic, channel): n
        for topic, channel, n in conn.execute(
            select(T.topic, T.channel, func.count())
            .where(T.subscribed.is_(False))
            .group_by(T.topic, T.channel)
        )
    }
    return [
        TopicRow(topic, label, {c: counts.get((topic, c), 0) for c in ("email", "sms")})
        for topic, label in topics.items()
    ]


def channel_opt_outs(conn: Connection) -> dict[str, int]:
    S = channel_status.c
    return dict(
        conn.execute(
            select(S.channel, func.count())
            .where(S.list_id == "", S.unsubscribed.is_(True))
            .group_by(S.channel)
        ).all()
    )


def _payload_line(payload: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in payload.items() if not isinstance(v, (dict, list))]
    return ", ".join(parts)[:200]


def _message_line(message: dict[str, Any]) -> str:
    where = message["flow_id"] or message["mailing_id"] or ""
    step = f" / {message['step_id']}" if message["step_id"] else ""
    subject = f" \u2014 {message['subject']}" if message["subject"] else ""
    return f"{where}{step}{subject}"[:200]
