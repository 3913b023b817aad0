"""The numbers drawn on a flow's steps, per step id. One place, so the graph and the
table under it never disagree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from domain.flow import Flow
from projections.schema import journey_conversions, sent_messages

# The counts shown inside a step's box (the table under the graph shows them all).
ON_THE_BOX = ("sent", "converted")


def flow_step_counts(conn: Connection, flow: Flow) -> dict[str, dict[str, Any]]:
    S, C = sent_messages.c, journey_conversions.c
    sent = dict(conn.execute(select(S.step_id, func.count()).where(S.flow_id == flow.id)
                             .group_by(S.step_id)).all())
    converted = dict(conn.execute(select(C.step_id, func.count()).where(
        C.flow_id == flow.id, C.flow_version == flow.version).group_by(C.step_id)).all())
    return {step.id: {"sent": sent.get(step.id, 0), "converted": converted.get(step.id, 0)}
            for step in flow.steps}


def on_the_box(counts: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(name, counts[name]) for name in ON_THE_BOX if name in counts]
