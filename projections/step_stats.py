"""Per-step analytics of one flow version [issue 15]: for every step, how many visits
entered it, completed it, skipped it (by reason), exited or failed there, how many
journeys wait there now, and for sends how many messages went out, were delivered,
opened, clicked, bounced, led to an unsubscribe, and how many conversions it earned.

Computed from the read models and the journey index, never by asking workflows: visits
come from journey_step_visits (reported by each journey as it leaves a step), positions
from journey_index.current_step, messages from sent_messages and provider reports found
by the step's message key (projections/step_messages.py; experiment steps' also per
variant), conversions from journey_conversions. Counts are per visit (a contact looping
back through a step counts again); a message is one visit's send.

Mailings have their own per-step counts in projections/mailing_reports.py."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field, computed_field
from sqlalchemy import Connection, func, select

from domain.flow import Flow
from domain.step_outcomes import SKIP_REASONS
from projections.experiment_schema import experiment_assignments
from projections.flow_catalogue import UnknownVersion, get_flow, get_version, versions
from projections.journey_index import LIVE
from projections.schema import journey_conversions, journey_index
from projections.step_messages import COUNTS, message_counts, step_topics
from projections.step_schema import journey_step_visits

V = journey_step_visits.c
SEND_CHANNELS = {"send_email": "email", "send_sms": "sms"}


class NothingPublished(UnknownVersion):
    def __init__(self, flow_id: str):
        super(UnknownVersion, self).__init__(
            f"flow {flow_id!r} has no published version yet, so no step has counts"
        )


class VariantStats(BaseModel):
    """One variant of an experiment step: visits it was chosen for, and its messages."""

    name: str
    assigned: int = Field(0, description="Visits given this variant (sent or skipped).")
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    bounced: int = 0
    unsubscribed: int = 0


class StepStats(BaseModel):
    """One step of one flow version. Message counts are 0 for steps that send nothing."""

    step_id: str
    kind: str
    label: str = Field(description="The step's name, or its kind and id.")
    channel: str | None = Field(default=None, description="email or sms for send steps.")
    entered: int = Field(
        0,
        description="Visits that reached the step: those that left it "
        "plus the journeys waiting there now.",
    )
    completed: int = 0
    skipped: dict[str, int] = Field(
        default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0),
        description="Visits that skipped the step, by reason.",
    )
    exited: int = Field(0, description="Journeys that ended at this step (not an exit step).")
    failed: int = Field(0, description="Sends or actions that failed for good.")
    interrupted: int = Field(0, description="Waits cut short by a stop.")
    waiting: int = Field(0, description="Running or paused journeys at this step now.")
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    bounced: int = 0
    unsubscribed: int = Field(
        0,
        description="Contacts who opted out of the channel, or of "
        "the message's topic on it, after this message and before "
        "any later message on that channel (of that topic).",
    )
    converted: int = Field(0, description="Goal conversions attributed to this step.")
    variants: list[VariantStats] | None = Field(
        default=None,
        description="Experiment steps: the message counts per variant, in "
        "the step's order (a holdout contact's visit is skipped with reason holdout).",
    )

    @computed_field
    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


class FlowStepStats(BaseModel):
    flow_id: str
    version: int
    live_version: int = Field(description="The flow's live version (0: never published).")
    versions: list[int] = Field(description="Every published version, oldest first.")
    live_journeys: int = Field(description="Running or paused journeys of this version.")
    unplaced: int = Field(
        description="Live journeys that have not reported a step yet "
        "(started before step analytics existed)."
    )
    converted_unattributed: int = Field(description="Conversions with no step before the goal.")
    steps: list[StepStats] = Field(description="Every step of the version, in document order.")

    def step(self, step_id: str) -> StepStats:
        for row in self.steps:
            if row.step_id == step_id:
                return row
        raise KeyError(step_id)

    def by_step(self) -> dict[str, StepStats]:
        return {row.step_id: row for row in self.steps}


def flow_step_stats(conn: Connection, flow_id: str, version: int | None = None) -> FlowStepStats:
    """Counts per step of `version` (default: the live version). UnknownFlow or
    UnknownVersion (404 over HTTP) when there is no such flow or version."""
    record = get_flow(conn, flow_id)
    if version is None:
        if not record.current_version:
            raise NothingPublished(flow_id)
        version = record.current_version
    flow = get_version(conn, flow_id, version)
    rows = {step.id: _row(step) for step in flow.steps}
    _visits(conn, flow, rows)
    live_by_step = _positions(conn, flow)
    for step_id, count in live_by_step.items():
        if step_id in rows:
            rows[step_id].waiting = count
            rows[step_id].entered += count
    _messages(conn, flow, rows)
    conversions = _conversions(conn, flow)
    for step_id, count in conversions.items():
        if step_id in rows:
            rows[step_id].converted = count
    return FlowStepStats(
        flow_id=flow_id,
        version=version,
        live_version=record.current_version,
        versions=[f.version for f in versions(conn, flow_id)],
        live_journeys=sum(live_by_step.values()),
        unplaced=live_by_step.get(None, 0),
        converted_unattributed=conversions.get(None, 0),
        steps=list(rows.values()),
    )


def _row(step) -> StepStats:
    # An experiment step sends on its own channel, under its own id and visit key.
    channel = step.channel if step.kind == "experiment" else SEND_CHANNELS.get(step.kind)
    return StepStats(step_id=step.id, kind=step.kind, label=step.describe(), channel=channel)


def _mine(flow: Flow) -> list:
    return [V.flow_id == flow.id, V.flow_version == flow.version]


def _visits(conn: Connection, flow: Flow, rows: dict[str, StepStats]) -> None:
    for step_id, result, reason, count in conn.execute(
        select(V.step_id, V.result, V.reason, func.count())
        .where(*_mine(flow))
        .group_by(V.step_id, V.result, V.reason)
    ):
        row = rows.get(step_id)
        if row is None:
            continue
        row.entered += count
        if result == "skipped":
            row.skipped[reason or "other"] = row.skipped.get(reason or "other", 0) + count
        elif result in ("completed", "exited", "failed", "interrupted"):
            setattr(row, result, getattr(row, result) + count)


def _positions(conn: Connection, flow: Flow) -> dict[str | None, int]:
    J = journey_index.c
    return dict(
        conn.execute(
            select(J.current_step, func.count())
            .where(J.flow_id == flow.id, J.flow_version == flow.version, J.status.in_(LIVE))
            .group_by(J.current_step)
        ).all()
    )


def _conversions(conn: Connection, flow: Flow) -> dict[str | None, int]:
    C = journey_conversions.c
    return dict(
        conn.execute(
            select(C.step_id, func.count())
            .where(C.flow_id == flow.id, C.flow_version == flow.version)
            .group_by(C.step_id)
        ).all()
    )


def _messages(conn: Connection, flow: Flow, rows: dict[str, StepStats]) -> None:
    sends = [row for row in rows.values() if row.channel is not None]
    if not sends:
        return
    counts = message_counts(conn, flow, step_topics(flow, [row.step_id for row in sends]))
    assigned = _assigned(conn, flow)
    for row in sends:
        for name in COUNTS:
            setattr(
                row,
                name,
                sum(n for (step_id, _), n in counts[name].items() if step_id == row.step_id),
            )
        if row.kind == "experiment":
            row.variants = [
                VariantStats(
                    name=variant.name,
                    assigned=assigned[(row.step_id, variant.name)],
                    **{name: counts[name][(row.step_id, variant.name)] for name in COUNTS},
                )
                for variant in flow.step(row.step_id).variants
            ]


def _assigned(conn: Connection, flow: Flow) -> Counter:
    """Visits of each experiment step given each variant (sent or not)."""
    A = experiment_assignments.c
    return Counter(
        {
            (step_id, variant): n
            for step_id, variant, n in conn.execute(
                select(A.step_id, A.variant, func.count())
                .where(A.flow_id == flow.id, A.flow_version == flow.version)
                .group_by(A.step_id, A.variant)
            )
        }
    )
