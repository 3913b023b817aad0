"""Journeys keep the journey index in step with themselves: a sub-flow's child journey
is recorded before it starts, a migrated journey its new version, and every journey
records its own end, so the router signals exactly the journeys that still run.
Idempotent: a retry writes the same row."""

from datetime import UTC, datetime

from sqlalchemy import Connection, Engine
from temporalio import activity

from domain.journey import JourneyIndexRequest
from projections import journey_index as index
from projections.step_visits import first_step


class JourneyIndexActivities:
    def __init__(self, engine: Engine):
        self.engine = engine

    @activity.defn(name="record_journey")
    def record_journey(self, request: JourneyIndexRequest) -> bool:
        """True when this call ended the journey's row: a retry, or a journey task run
        again after the server refused its completion, finds it ended already, so what
        counts journey ends (telemetry.worker_metrics) counts each once."""
        with self.engine.begin() as conn:
            return write_index(conn, request, datetime.now(UTC))


def write_index(conn: Connection, request: JourneyIndexRequest, now: datetime) -> bool:
    """The journey's row as `request` says (started, moved to a version, or ended); True
    when this call ended it."""
    if request.migrated_from is not None:
        index.move_version(
            conn,
            request.workflow_id,
            request.enrollment_id,
            request.migrated_from,
            request.flow_version,
            now,
            current_step=request.current_step,
        )
    elif request.ended:
        # Only this enrollment's row: a journey that ended must not end the next one
        # started under the same id (re_entry after_exit).
        return (
            index.set_status(conn, [request.workflow_id], index.ENDED, now, request.enrollment_id)
            > 0
        )
    else:
        index.claim_start(
            conn,
            workflow_id=request.workflow_id,
            contact_id=request.contact_id,
            flow_id=request.flow_id,
            flow_version=request.flow_version,
            enrollment_id=request.enrollment_id,
            now=now,
            current_step=first_step(conn, request.flow_id, request.flow_version),
        )
    return False
