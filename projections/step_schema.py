"""Per-step bookkeeping of journeys (0012): one row per step visit, reported by the
journey as it leaves the step (activities/step_reports.py).

Not a read model: like the journey index it mirrors what journeys did, not the event
store, so `rebuild` leaves it alone. Per-step analytics (projections/step_stats.py) count
these rows; a send's row carries its message key so the ledger, provider reports, opens
and clicks of that very message are found by it."""

from sqlalchemy import Column, Index, Integer, String, Table, Text

from projections.metadata import metadata
from projections.types import UtcDateTime

journey_step_visits = Table(
    "journey_step_visits",
    metadata,
    Column("workflow_id", String(1000), primary_key=True),
    Column("enrollment_id", String(400), primary_key=True),
    Column("step_id", String(64), primary_key=True),
    Column("visit", Integer, primary_key=True),
    Column("flow_id", String(64), nullable=False),
    Column("flow_version", Integer, nullable=False),
    Column("contact_id", String(128), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("result", String(20), nullable=False),  # domain.step_outcomes.StepResult
    Column("reason", String(64)),
    Column("outcome", Text, nullable=False),
    Column("message_key", String(400), nullable=False),
    Column("ended_at", UtcDateTime, nullable=False),
    Index(None, "flow_id", "flow_version", "step_id"),
    Index(None, "message_key"),
)
