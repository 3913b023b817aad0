"""A simulated journey as a timeline: what happened at which virtual time, read from
the journey's own record (its trail of steps, its timers in the workflow history) and
from the simulation's outbox; times shown in the contact's own zone."""

from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import Engine, select

from domain import sms
from domain.flow import Flow
from domain.journey import JourneyState
from projections.experiment_schema import experiment_assignments
from projections.schema import outbox_messages
from projections.step_schema import journey_step_visits

Kind = Literal["enrolled", "event", "step", "wait", "ended"]
# At one virtual moment: the event that wakes a journey comes before the step it wakes;
# a wait starts after the step that came before it.
_ORDER = {"enrolled": 0, "event": 1, "step": 2, "wait": 3, "ended": 4}


class RenderedMessage(BaseModel):
    channel: str = Field(description="email, sms, voice, webhook, script (as recorded).")
    to: str
    subject: str | None = None
    body: str
    segments: int | None = Field(default=None, description="SMS parts billed.")
    encoding: str | None = Field(default=None, description="GSM-7 or UCS-2 for SMS.")


class TimelineEntry(BaseModel):
    at: datetime = Field(description="Virtual time, in the contact's zone.")
    kind: Kind
    step_id: str | None = None
    step_kind: str | None = None
    name: str | None = None
    outcome: str | None = None
    messages: list[RenderedMessage] = Field(default_factory=list)
    until: datetime | None = Field(default=None, description="A wait: when it was due to end.")
    ended_at: datetime | None = Field(default=None, description="A wait: when it did end.")
    ended_by: str | None = Field(
        default=None,
        description="A wait: time, or cut short "
        "(an event or the journey moved on), or still waiting.",
    )
    event_type: str | None = None
    payload: dict[str, Any] | None = None
    result: str | None = Field(
        default=None,
        description="A step: completed, skipped, "
        "exited, failed or interrupted, as per-step analytics count it.",
    )
    reason: str | None = Field(
        default=None,
        description="A step skipped, exited or failed: "
        "why (e.g. holdout, unsubscribed_topic, condition_not_met).",
    )
    variant: str | None = Field(
        default=None, description="An experiment step: the variant " "the contact got."
    )
    variant_phase: str | None = Field(
        default=None, description="test (by hash) or winner " "(the experiment was decided)."
    )


class JourneyTimeline(BaseModel):
    flow_id: str
    flow_version: int
    draft: bool
    contact_id: str
    zone: str
    zone_source: str
    enrolled_at: datetime
    horizon: datetime = Field(description="Where the simulation stopped the clock at most.")
    status: str = Field(
        description="completed, exited, converted, failed, or still "
        "waiting/running when the simulated days ran out."
    )
    ended_how: str | None = None
    current_step: str | None = Field(
        default=None, description="Where it was when the time ran out."
    )
    entries: list[TimelineEntry]


class Timer(BaseModel):
    """One timer of the journey, from its workflow history."""

    started: datetime
    due: datetime
    summary: str | None
    ended: datetime | None
    fired: bool


def messages_by_key(engine: Engine, contact_id: str) -> dict[str, RenderedMessage]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(outbox_messages)
            .where(outbox_messages.c.contact_id == contact_id)
            .order_by(outbox_messages.c.id)
        ).all()
    return {
        row.idempotency_key: RenderedMessage(
            channel=row.channel,
            to=row.to_address,
            subject=row.subject,
            body=row.body,
            segments=sms.segments(row.body) if row.channel == "sms" else None,
            encoding=sms.encoding(row.body) if row.channel == "sms" else None,
        )
        for row in rows
    }


def visit_results(
    engine: Engine, workflow_id: str, enrollment_id: str
) -> dict[tuple[str, int], tuple[str, str | None]]:
    """(step id, visit) -> (result, reason) of each step the journey reported leaving
    (the same rows per-step analytics count)."""
    V = journey_step_visits.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(V.step_id, V.visit, V.result, V.reason).where(
                V.workflow_id == workflow_id, V.enrollment_id == enrollment_id
            )
        ).all()
    return {(row.step_id, row.visit): (row.result, row.reason) for row in rows}


def variants_by_key(engine: Engine, contact_id: str) -> dict[str, tuple[str, str]]:
    """Message key -> (variant, phase) of the contact's experiment steps."""
    A = experiment_assignments.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(A.message_key, A.variant, A.phase).where(A.contact_id == contact_id)
        ).all()
    return {row.message_key: (row.variant, row.phase) for row in rows}


def _of_visit(messages: dict[str, RenderedMessage], key: str) -> list[RenderedMessage]:
    # A step's sends carry its visit's key, or that key plus a suffix (a team copy, say).
    return [m for k, m in messages.items() if k == key or k.startswith(key + "/")]


def build(
    *,
    flow: Flow,
    draft: bool,
    contact_id: str,
    zone: ZoneInfo,
    zone_source: str,
    enrolled_at: datetime,
    horizon: datetime,
    state: JourneyState | None,
    status: str,
    ended_how: str | None,
    key_of,
    timers: list[Timer],
    messages: dict[str, RenderedMessage],
    events: list[TimelineEntry],
    results: dict[tuple[str, int], tuple[str, str | None]] | None = None,
    variants: dict[str, tuple[str, str]] | None = None,
) -> JourneyTimeline:
    """`key_of(step_id, visit)`: the idempotency key the journey gave that visit;
    `results` and `variants`: visit_results and variants_by_key."""
    local = lambda moment: moment.astimezone(zone)  # noqa: E731
    entries = [
        TimelineEntry(
            at=enrolled_at,
            kind="enrolled",
            outcome=f"enrolled in {flow.id} " f"{'draft' if draft else f'v{flow.version}'}",
        )
    ]
    entries += [event.model_copy(update={"at": event.at}) for event in events]
    for visit in state.trail if state else []:
        step = _step(flow, visit.step_id)
        key = key_of(visit.step_id, visit.visit)
        result, reason = (results or {}).get((visit.step_id, visit.visit), (None, None))
        variant, phase = (variants or {}).get(key, (None, None))
        entries.append(
            TimelineEntry(
                at=visit.at or horizon,
                kind="step",
                step_id=visit.step_id,
                step_kind=step.kind if step else None,
                name=step.describe() if step else None,
                outcome=visit.outcome,
                messages=_of_visit(messages, key),
                result=result,
                reason=reason,
                variant=variant,
                variant_phase=phase,
            )
        )
    for timer in timers:
        ended_by = (
            "time" if timer.fired else "cut short" if timer.ended is not None else "still waiting"
        )
        entries.append(
            TimelineEntry(
                at=timer.started,
                kind="wait",
                name=timer.summary,
                until=timer.due,
                ended_at=timer.ended,
                ended_by=ended_by,
            )
        )
    entries.append(
        TimelineEntry(
            at=_last(entries, horizon, status),
            kind="ended",
            outcome=status + (f": {ended_how}" if ended_how else ""),
        )
    )
    entries.sort(key=lambda e: (e.at, _ORDER[e.kind]))
    shown = [
        e.model_copy(
            update={
                "at": local(e.at),
                "until": local(e.until) if e.until else None,
                "ended_at": local(e.ended_at) if e.ended_at else None,
            }
        )
        for e in entries
    ]
    return JourneyTimeline(
        flow_id=flow.id,
        flow_version=flow.version,
        draft=draft,
        contact_id=contact_id,
        zone=zone.key,
        zone_source=zone_source,
        enrolled_at=local(enrolled_at),
        horizon=local(horizon),
        status=status,
        ended_how=ended_how,
        current_step=state.current_step if state else None,
        entries=shown,
    )


def _step(flow: Flow, step_id: str):
    try:
        return flow.step(step_id)
    except KeyError:
        return None


def _last(entries: list[TimelineEntry], horizon: datetime, status: str) -> datetime:
    if status in ("completed", "exited", "converted", "failed"):
        return (
            max(e.at for e in entries if e.kind == "step")
            if any(e.kind == "step" for e in entries)
            else entries[0].at
        )
    return horizon


def elapsed(start: datetime, moment: datetime) -> str:
    """+1d03h05m: how long after enrollment, for people reading a timeline."""
    seconds = int((moment - start) / timedelta(seconds=1))
    days, rest = divmod(max(seconds, 0), 86400)
    hours, rest = divmod(rest, 3600)
    return f"+{days}d{hours:02d}h{rest // 60:02d}m"
