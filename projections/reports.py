"""Read-only reports over the read models, for the CLI and (later) the HTTP API."""

from sqlalchemy import Connection, func, select

from projections.schema import journey_conversions


def conversions_by_step(conn: Connection, flow_id: str) -> dict[str | None, int]:
    """Conversions of a flow per attributed step (the last step reached before the goal);
    each enrollment counts once."""
    c = journey_conversions.c
    rows = conn.execute(
        select(c.step_id, func.count())
        .where(c.flow_id == flow_id)
        .group_by(c.step_id)
        .order_by(c.step_id)
    )
    return {step_id: count for step_id, count in rows}
