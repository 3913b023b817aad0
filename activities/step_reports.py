"""Journeys report each step they leave (a local activity, behind the
`journey-step-report` patch; batched with the journey's end since "journey-patches-v9"),
so per-step analytics count visits and positions from the database instead of asking
every workflow. Idempotent: a retry writes nothing twice."""

from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio import activity

from activities.journey_index import write_index
from domain.contracts.journey_progress import JourneyProgress
from domain.step_outcomes import StepReport
from projections.step_visits import record_visit, record_visits


class StepReportActivities:
    def __init__(self, engine: Engine):
        self.engine = engine

    @activity.defn(name="record_step")
    def record_step(self, report: StepReport) -> None:
        with self.engine.begin() as conn:
            record_visit(conn, report)

    @activity.defn(name="record_progress")
    def record_progress(self, progress: JourneyProgress) -> bool:
        """The visits in order, then the end: one transaction, so the index never shows
        a journey ended with visits still missing. True when this call ended the row
        (counted once as a journey end, as record_journey's)."""
        with self.engine.begin() as conn:
            record_visits(conn, progress.steps)
            if progress.end is None:
                return False
            return write_index(conn, progress.end, datetime.now(UTC))
