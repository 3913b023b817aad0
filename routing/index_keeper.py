"""The router's writes to the journey index, each in its own short transaction (the
index must be committed before the Temporal call it guards, so that a journey's end,
recorded by the journey itself, always lands after its start)."""

from datetime import UTC, datetime

from sqlalchemy import Engine

from domain.flow import Flow, ReEntry
from projections import journey_index as index


class IndexKeeper:
    def __init__(self, engine: Engine):
        self.engine = engine

    def claim(
        self, flow: Flow, contact_id: str, enrollment_id: str, workflow_id: str
    ) -> str | None:
        """The enrollment that owns the live row after claiming it; None when the id is
        closed for good (re_entry never, ended already)."""
        with self.engine.begin() as conn:
            row = index.get(conn, workflow_id)
            if (
                row is not None
                and row.status == index.ENDED
                and flow.re_entry == ReEntry.NEVER
                and row.enrollment_id != enrollment_id
            ):
                return None
            return index.claim_start(
                conn,
                workflow_id=workflow_id,
                contact_id=contact_id,
                flow_id=flow.id,
                flow_version=flow.version,
                enrollment_id=enrollment_id,
                now=datetime.now(UTC),
                current_step=flow.steps[0].id,
            )

    def ended(self, workflow_id: str, enrollment_id: str | None) -> None:
        with self.engine.begin() as conn:
            index.set_status(conn, [workflow_id], index.ENDED, datetime.now(UTC), enrollment_id)

    def forget(self, workflow_id: str, enrollment_id: str) -> None:
        """A claim whose journey never started: gone, so the contact is neither shown as
        enrolled nor, under re_entry never, kept out of the flow for good."""
        with self.engine.begin() as conn:
            index.forget(conn, workflow_id, enrollment_id)
