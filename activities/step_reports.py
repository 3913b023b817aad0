"""Journeys report each step they leave (a local activity, behind the
`journey-step-report` patch), so per-step analytics count visits and positions from the
database instead of asking every workflow. Idempotent: a retry writes nothing twice."""

from sqlalchemy import Engine
from temporalio import activity

from domain.step_outcomes import StepReport
from projections.step_visits import record_visit


class StepReportActivities:
    def __init__(self, engine: Engine):
        self.engine = engine

    @activity.defn(name="record_step")
    def record_step(self, report: StepReport) -> None:
        with self.engine.begin() as conn:
            record_visit(conn, report)
