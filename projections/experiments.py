"""Experiments from the read models: assignments and decisions (written by the
experiment activity), opens and clicks (email_engagement, joined on the message key the
variant was sent under), conversions (journey_conversions, joined on the journey) and,
for holdouts, the journey index. `flow_experiments` is what the API, the CLI and the
console show; `step_result` is what the decision is made from.

One clock: every timestamp compared here is the database writers' wall clock (when the
contact was assigned, opened, converted), and `now` is the caller's wall clock. Workflow
time is not used: on the time-skipping test server it runs ahead of the wall clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, func, select

from domain.experiments.assignment import in_holdout
from domain.experiments.results import (
    Decision, ExperimentResult, LiftResult, VariantCounts, experiment_result, lift_result,
)
from domain.flow import Flow
from domain.steps.experiments import Experiment
from projections.dialect import insert
from projections.experiment_schema import experiment_assignments, experiment_decisions
from projections.flow_catalogue import versions
from projections.schema import email_engagement, journey_conversions, journey_index

A, D = experiment_assignments.c, experiment_decisions.c
TOUCHES = {"opened": ("open", "click"), "clicked": ("click",)}


class FlowExperiments(BaseModel):
    flow_id: str
    version: int
    experiments: list[ExperimentResult]
    lift: LiftResult | None


def decision(conn: Connection, flow_id: str, step_id: str) -> Decision | None:
    row = conn.execute(select(D.winner, D.decided_at, D.rule)
                       .where(D.flow_id == flow_id, D.step_id == step_id)).first()
    return None if row is None else Decision(winner=row.winner, decided_at=row.decided_at,
                                             rule=row.rule)


def store_decision(conn: Connection, flow_id: str, step_id: str, result: ExperimentResult,
                   decided_at: datetime) -> Decision:
    """The first decision stored stands: two workers deciding at once both read it back."""
    conn.execute(insert(conn, experiment_decisions).values(
        flow_id=flow_id, step_id=step_id, winner=result.leader, rule=result.rule,
        decided_at=decided_at, result=result.model_dump(mode="json"),
    ).on_conflict_do_nothing(index_elements=["flow_id", "step_id"]))
    return decision(conn, flow_id, step_id)


def recorded(conn: Connection, message_key: str) -> tuple[str, str] | None:
    row = conn.execute(select(A.variant, A.phase).where(A.message_key == message_key)).first()
    return None if row is None else (row.variant, row.phase)


def record_assignment(conn: Connection, **row: Any) -> None:
    conn.execute(insert(conn, experiment_assignments).values(**row)
                 .on_conflict_do_nothing(index_elements=["message_key"]))


def _hits(step: Experiment):
    """When each assignment first met the metric (None: not yet)."""
    metric = step.metric
    if metric.kind == "converted":
        J = journey_conversions.c
        query = select(func.min(J.converted_at)).where(J.journey_id == A.journey_id,
                                                       J.converted_at >= A.assigned_at)
        if metric.goal:
            query = query.where(J.goal_step == metric.goal)
        return query.scalar_subquery()
    E = email_engagement.c
    return (select(func.min(E.first_at))
            .where(E.contact_id == A.contact_id, E.message_key == A.message_key,
                   E.kind.in_(TOUCHES[metric.kind])).scalar_subquery())


def step_result(conn: Connection, flow_id: str, step: Experiment, now: datetime) -> ExperimentResult:
    """Counts over the test-phase contacts of every version that has this step id."""
    window = step.metric.window
    counts = {v.name: VariantCounts(name=v.name) for v in step.variants}
    first = None
    rows = conn.execute(select(A.variant, A.assigned_at, _hits(step).label("hit_at"))
                        .where(A.flow_id == flow_id, A.step_id == step.id, A.phase == "test"))
    for variant, assigned_at, hit_at in rows:
        c = counts.setdefault(variant, VariantCounts(name=variant))
        c.assigned += 1
        first = assigned_at if first is None else min(first, assigned_at)
        if assigned_at + window <= now:
            c.measured += 1
            c.successes += hit_at is not None and hit_at <= assigned_at + window
    winner_sends = conn.execute(select(func.count()).where(
        A.flow_id == flow_id, A.step_id == step.id, A.phase == "winner")).scalar_one()
    return experiment_result(flow_id, step, counts, first, now,
                             decision(conn, flow_id, step.id), winner_sends)


def holdout_lift(conn: Connection, flow_id: str, history: list[Flow]) -> LiftResult | None:
    """Journeys enrolled under versions with a holdout, split as their journeys split
    them (the same hash), and how many of each converted (once per journey)."""
    percents = {f.version: f.holdout_percent for f in history if f.holdout_percent > 0}
    if not percents:
        return None
    J, C = journey_index.c, journey_conversions.c
    converted = {row[0] for row in conn.execute(
        select(C.journey_id).where(C.flow_id == flow_id, C.flow_version.in_(percents)))}
    groups = {"treated": [0, 0], "holdout": [0, 0]}
    for workflow_id, contact_id, version in conn.execute(
            select(J.workflow_id, J.contact_id, J.flow_version)
            .where(J.flow_id == flow_id, J.flow_version.in_(percents))):
        group = groups["holdout" if in_holdout(flow_id, contact_id, percents[version]) else "treated"]
        group[0] += 1
        group[1] += workflow_id in converted
    return lift_result(flow_id, percents[max(percents)], tuple(groups["treated"]),
                       tuple(groups["holdout"]))


class NotAnExperiment(LookupError):
    pass


def flow_experiments(conn: Connection, flow_id: str, now: datetime) -> FlowExperiments:
    """Every experiment step of the flow's newest published version (none before the
    first publish, version 0), and its holdout lift."""
    history = versions(conn, flow_id)
    if not history:
        return FlowExperiments(flow_id=flow_id, version=0, experiments=[], lift=None)
    newest = history[-1]
    steps = [s for s in newest.steps if isinstance(s, Experiment)]
    return FlowExperiments(flow_id=flow_id, version=newest.version,
                           experiments=[step_result(conn, flow_id, s, now) for s in steps],
                           lift=holdout_lift(conn, flow_id, history))


def experiment_at(conn: Connection, flow_id: str, step_id: str, now: datetime) -> ExperimentResult:
    """One experiment step of the newest version; NotAnExperiment names what is there."""
    history = versions(conn, flow_id)
    step = next((s for s in history[-1].steps if s.id == step_id), None) if history else None
    if not isinstance(step, Experiment):
        found = "no such step" if step is None else f"a {step.kind} step"
        raise NotAnExperiment(f"flow {flow_id!r} has {found} at {step_id!r} in its newest "
                              "published version, not an experiment")
    return step_result(conn, flow_id, step, now)
