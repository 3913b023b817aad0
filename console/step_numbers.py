"""The numbers drawn on a flow's steps, per step id, from the per-step analytics
(projections.step_stats, the same numbers as GET /v1/flows/{id}/stats and
`dripstone flow stats`). One place, so the graph and the table under it agree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from projections.step_stats import FlowStepStats, flow_step_stats

# The table's columns, in order; `skipped` is a count per reason.
COLUMNS = (
    "entered",
    "waiting",
    "completed",
    "skipped",
    "exited",
    "failed",
    "interrupted",  # a wait cut short by a stop
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "unsubscribed",
    "converted",
)
# Inside a step's box there is room for two short lines: where contacts are, and what
# the step did to them (a send's messages; any other step's outcomes).
_FLOW_LINE = ("entered", "waiting")
_SEND_LINE = ("sent", "opened", "unsubscribed")
_STEP_LINE = ("completed", "skipped_total")
_SHORT = {"skipped_total": "skipped", "unsubscribed": "unsub"}


def flow_numbers(conn: Connection, flow_id: str, version: int) -> FlowStepStats:
    return flow_step_stats(conn, flow_id, version)


def per_step(stats: FlowStepStats) -> dict[str, dict[str, Any]]:
    return {
        row.step_id: row.model_dump(include=set(COLUMNS) | {"skipped_total", "channel"})
        for row in stats.steps
    }


def on_the_box(counts: dict[str, Any]) -> list[list[tuple[str, str, Any]]]:
    """Lines of (count name, short label, value) for a step's box."""
    second = _SEND_LINE if counts.get("channel") else _STEP_LINE
    return [
        [(name, _SHORT.get(name, name), counts[name]) for name in line if name in counts]
        for line in (_FLOW_LINE, second)
    ]
