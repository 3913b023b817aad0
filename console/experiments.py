"""Experiments and holdouts for the console: every flow whose newest published version
has an experiment step or a holdout, with the result GET /v1/flows/{id}/experiments
gives (projections.experiments), as of now."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection

from projections.experiments import FlowExperiments, every_flow_experiments


def experiment_results(conn: Connection) -> list[FlowExperiments]:
    # In a fixed number of queries, however many flows and experiments there are.
    return every_flow_experiments(conn, datetime.now(UTC))


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{100 * rate:.1f}%"


def interval(bounds: tuple[float | None, float | None] | None, points: bool = False) -> str:
    """A confidence interval as people read it; differences of rates in points."""
    if bounds is None or None in bounds:
        return ""
    low, high = bounds
    unit = " pts" if points else "%"
    return (
        f"[{100 * low:+.1f}, {100 * high:+.1f}]{unit}"
        if points
        else f"[{100 * low:.1f}, {100 * high:.1f}]{unit}"
    )


def p_value(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
