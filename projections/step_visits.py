"""Writes of per-step bookkeeping: a journey's step visit and where it goes next, in one
transaction, so a visit is never counted while the journey still shows at that step."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from domain.step_outcomes import StepReport, classify
from projections.dialect import insert
from projections.schema import flow_versions, journey_index
from projections.step_schema import journey_step_visits

OUTCOME_LIMIT = 1000


def record_visit(conn: Connection, report: StepReport) -> None:
    record_visits(conn, [report])


def record_visits(conn: Connection, reports: Sequence[StepReport]) -> None:
    """The visits in one statement, and each journey's row moved once, to where its last
    visit goes next (the same end state as moving it per visit, at a journey's flush
    of three steps two statements instead of six)."""
    if not reports:
        return
    conn.execute(
        insert(conn, journey_step_visits).on_conflict_do_nothing(),
        [_visit_row(report) for report in reports],
    )
    last = {(r.workflow_id, r.enrollment_id): r.next_step for r in reports}
    for (workflow_id, enrollment_id), next_step in last.items():
        # Only this enrollment's row: the journey that reports owns it. An ended row is
        # left as it is (the journey's end may already be recorded when a retry lands).
        conn.execute(
            update(journey_index)
            .where(
                journey_index.c.workflow_id == workflow_id,
                journey_index.c.enrollment_id == enrollment_id,
                journey_index.c.status != "ended",
            )
            .values(current_step=next_step)
        )


def _visit_row(report: StepReport) -> dict[str, Any]:
    result, reason = classify(report.kind, report.outcome, report.action_status, report.reason_code)
    return {
        "workflow_id": report.workflow_id,
        "enrollment_id": report.enrollment_id,
        "step_id": report.step_id,
        "visit": report.visit,
        "flow_id": report.flow_id,
        "flow_version": report.flow_version,
        "contact_id": report.contact_id,
        "kind": report.kind,
        "result": result,
        "reason": reason,
        "outcome": report.outcome[:OUTCOME_LIMIT],
        "message_key": report.message_key,
        "ended_at": report.at,
    }


def first_step(conn: Connection, flow_id: str, version: int) -> str | None:
    """The first step of a published version, read from its stored document without
    parsing the whole flow (a sub-flow's journey recording its own start)."""
    document = conn.execute(
        select(flow_versions.c.document).where(
            flow_versions.c.flow_id == flow_id, flow_versions.c.version == version
        )
    ).scalar()
    steps = (document or {}).get("steps") or []
    return steps[0].get("id") if steps and isinstance(steps[0], dict) else None
