"""Filling the journey index from Temporal's visibility: for journeys started before the
index existed (release 0007), or after the index was lost. Every running JourneyWorkflow
is recorded as live; rows of journeys that no longer run heal themselves at the next
signal (NOT_FOUND marks them ended)."""

from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio.client import Client

from projections import engine_flags
from projections import journey_index as index
from routing.router import ENROLLMENT_MEMO
from workflows import search_attributes as sa

RUNNING_JOURNEYS = "WorkflowType = 'JourneyWorkflow' AND ExecutionStatus = 'Running'"


async def reindex_journeys(client: Client, engine: Engine) -> int:
    """Every running journey recorded; then the index is known complete (the flag the
    0007 migration set on a database that had events is cleared)."""
    count = 0
    async for execution in client.list_workflows(RUNNING_JOURNEYS):
        attrs = execution.typed_search_attributes
        flow_id, contact_id = attrs.get(sa.FLOW_ID), attrs.get(sa.CONTACT_ID)
        if not flow_id or not contact_id:
            continue
        # Router-started journeys name their enrollment in the memo; a sub-flow's child
        # does not, so its enrollment is the part of the id after the contact, if any.
        enrollment = await execution.memo_value(ENROLLMENT_MEMO, None)
        if enrollment is None:
            base = f"journey/{flow_id}/{contact_id}"
            enrollment = (
                execution.id[len(base) + 1 :] if execution.id.startswith(base + "/") else ""
            )
        now = datetime.now(UTC)
        started = execution.start_time or now
        with engine.begin() as conn:
            index.upsert_live(
                conn,
                index.IndexedJourney(
                    workflow_id=execution.id,
                    contact_id=contact_id,
                    flow_id=flow_id,
                    flow_version=attrs.get(sa.FLOW_VERSION) or 0,
                    enrollment_id=enrollment,
                    status=index.RUNNING,
                    started_at=started,
                    updated_at=now,
                    ended_at=None,
                    # The step the journey last said it was at: placed for per-step counts.
                    current_step=attrs.get(sa.CURRENT_STEP) or None,
                ),
            )
        count += 1
    with engine.begin() as conn:
        engine_flags.clear(conn, engine_flags.JOURNEY_INDEX_INCOMPLETE)
    return count


def index_incomplete(engine: Engine) -> bool:
    with engine.connect() as conn:
        return engine_flags.is_set(conn, engine_flags.JOURNEY_INDEX_INCOMPLETE)
