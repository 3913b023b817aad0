"""Experiments from the read models: assignments and decisions (written by the
experiment activity), opens and clicks (email_engagement, joined on the message key the
variant was sent under), conversions (journey_conversions, joined on the journey) and,
for holdouts, the journey index. `flow_experiments` is what the API, the CLI and the
console show; `step_result` is what the decision is made from.

One clock: every timestamp compared here is the database writers' wall clock (when the
contact was assigned, opened, converted), and `now` is the caller's wall clock. Workflow
time is not used: on the time-skipping test server it runs ahead of the wall clock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, case, func, select, tuple_

from domain.experiments.assignment import in_holdout
from domain.experiments.results import (
    Decision,
    ExperimentResult,
    LiftResult,
    VariantCounts,
    experiment_result,
    lift_result,
)
from domain.flow import Flow
from domain.steps.experiments import Experiment
from projections.dialect import insert
from projections.experiment_schema import experiment_assignments, experiment_decisions
from projections.flow_catalogue import versions
from projections.schema import email_engagement, flow_versions, journey_conversions, journey_index

A, D = experiment_assignments.c, experiment_decisions.c
TOUCHES = {"opened": ("open", "click"), "clicked": ("click",)}


class FlowExperiments(BaseModel):
    flow_id: str
    version: int
    experiments: list[ExperimentResult]
    lift: LiftResult | None


def decision(conn: Connection, flow_id: str, step_id: str) -> Decision | None:
    row = conn.execute(
        select(D.winner, D.decided_at, D.rule).where(D.flow_id == flow_id, D.step_id == step_id)
    ).first()
    return (
        None
        if row is None
        else Decision(winner=row.winner, decided_at=row.decided_at, rule=row.rule)
    )


def store_decision(
    conn: Connection, flow_id: str, step_id: str, result: ExperimentResult, decided_at: datetime
) -> Decision:
    """The first decision stored stands: two workers deciding at once both read it back."""
    conn.execute(
        insert(conn, experiment_decisions)
        .values(
            flow_id=flow_id,
            step_id=step_id,
            winner=result.leader,
            rule=result.rule,
            decided_at=decided_at,
            result=result.model_dump(mode="json"),
        )
        .on_conflict_do_nothing(index_elements=["flow_id", "step_id"])
    )
    return decision(conn, flow_id, step_id)


def recorded(conn: Connection, message_key: str) -> tuple[str, str] | None:
    row = conn.execute(select(A.variant, A.phase).where(A.message_key == message_key)).first()
    return None if row is None else (row.variant, row.phase)


def record_assignment(conn: Connection, **row: Any) -> None:
    conn.execute(
        insert(conn, experiment_assignments)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["message_key"])
    )


def _hits(step: Experiment):
    """When each assignment first met the metric (None: not yet)."""
    metric = step.metric
    if metric.kind == "converted":
        J = journey_conversions.c
        query = select(func.min(J.converted_at)).where(
            J.journey_id == A.journey_id, J.converted_at >= A.assigned_at
        )
        if metric.goal:
            query = query.where(J.goal_step == metric.goal)
        return query.scalar_subquery()
    E = email_engagement.c
    return (
        select(func.min(E.first_at))
        .where(
            E.contact_id == A.contact_id,
            E.message_key == A.message_key,
            E.kind.in_(TOUCHES[metric.kind]),
        )
        .scalar_subquery()
    )


def step_result(
    conn: Connection, flow_id: str, step: Experiment, now: datetime
) -> ExperimentResult:
    """Counts over the test-phase contacts of every version that has this step id (the
    batched path of every_flow_experiments, for one step)."""
    return _results(conn, {(flow_id, step.id): step}, now)[(flow_id, step.id)]


def _counted(
    flow_id: str,
    step: Experiment,
    rows: Iterable[Any],
    now: datetime,
    decided: Decision | None,
    winner_sends: int,
) -> ExperimentResult:
    """The result from the test-phase rows (variant, assigned_at, hit_at)."""
    window = step.metric.window
    counts = {v.name: VariantCounts(name=v.name) for v in step.variants}
    first = None
    for variant, assigned_at, hit_at in rows:
        c = counts.setdefault(variant, VariantCounts(name=variant))
        c.assigned += 1
        first = assigned_at if first is None else min(first, assigned_at)
        if assigned_at + window <= now:
            c.measured += 1
            c.successes += hit_at is not None and hit_at <= assigned_at + window
    return experiment_result(flow_id, step, counts, first, now, decided, winner_sends)


def holdout_lift(conn: Connection, flow_id: str, history: list[Flow]) -> LiftResult | None:
    """Journeys enrolled under versions with a holdout, split as their journeys split
    them (the same hash), and how many of each converted (once per journey)."""
    percents = _holdout_percents(history)
    return _every_lift(conn, {flow_id: percents}).get(flow_id) if percents else None


def _holdout_percents(history: list[Flow]) -> dict[int, float]:
    return {f.version: f.holdout_percent for f in history if f.holdout_percent > 0}


def _lift(
    flow_id: str, percents: dict[int, float], converted: set[str], journeys: Iterable[Any]
) -> LiftResult:
    groups = {"treated": [0, 0], "holdout": [0, 0]}
    for workflow_id, contact_id, version in journeys:
        group = groups[
            "holdout" if in_holdout(flow_id, contact_id, percents[version]) else "treated"
        ]
        group[0] += 1
        group[1] += workflow_id in converted
    return lift_result(
        flow_id, percents[max(percents)], tuple(groups["treated"]), tuple(groups["holdout"])
    )


def every_flow_experiments(conn: Connection, now: datetime) -> list[FlowExperiments]:
    """flow_experiments for every flow with an experiment step or a holdout, in a fixed
    number of queries however many flows and experiments there are (the console's
    list): versions, test-phase assignments with their hits, winner sends, decisions,
    and the journeys and conversions of holdout versions."""
    histories: dict[str, list[Flow]] = defaultdict(list)
    for (document,) in conn.execute(
        select(flow_versions.c.document).order_by(flow_versions.c.flow_id, flow_versions.c.version)
    ):
        flow = Flow.model_validate(document)
        histories[flow.id].append(flow)
    return [
        found
        for found in _reports(conn, histories, now)
        if found.experiments or found.lift is not None
    ]


def _reports(
    conn: Connection, histories: dict[str, list[Flow]], now: datetime
) -> list[FlowExperiments]:
    """FlowExperiments of each flow (by id) from its versions, oldest first: the one
    implementation behind every_flow_experiments and flow_experiments."""
    steps = {
        (flow_id, s.id): s
        for flow_id, history in histories.items()
        for s in history[-1].steps
        if isinstance(s, Experiment)
    }
    results = _results(conn, steps, now)
    lifts = _every_lift(conn, {f: p for f, h in histories.items() if (p := _holdout_percents(h))})
    by_flow: dict[str, list[ExperimentResult]] = defaultdict(list)
    for (flow_id, _), result in results.items():
        by_flow[flow_id].append(result)
    return [
        FlowExperiments(
            flow_id=flow_id,
            version=history[-1].version,
            experiments=by_flow[flow_id],
            lift=lifts.get(flow_id),
        )
        for flow_id, history in sorted(histories.items())
    ]


def _results(
    conn: Connection, steps: dict[tuple[str, str], Experiment], now: datetime
) -> dict[tuple[str, str], ExperimentResult]:
    rows, winners, decided = _experiment_rows(conn, steps)
    return {
        key: _counted(key[0], step, rows[key], now, decided.get(key), winners[key])
        for key, step in steps.items()
    }


def _experiment_rows(conn: Connection, steps: dict[tuple[str, str], Experiment]):
    rows: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    winners: dict[tuple[str, str], int] = defaultdict(int)
    decided: dict[tuple[str, str], Decision] = {}
    if not steps:
        return rows, winners, decided
    mine = tuple_(A.flow_id, A.step_id).in_(list(steps))
    # Each step's own metric, chosen per row: one query for every experiment.
    hit_at = case(
        *(((A.flow_id == f) & (A.step_id == s), _hits(step)) for (f, s), step in steps.items())
    )
    for flow_id, step_id, variant, assigned_at, hit in conn.execute(
        select(A.flow_id, A.step_id, A.variant, A.assigned_at, hit_at).where(
            mine, A.phase == "test"
        )
    ):
        rows[(flow_id, step_id)].append((variant, assigned_at, hit))
    for flow_id, step_id, count in conn.execute(
        select(A.flow_id, A.step_id, func.count())
        .where(mine, A.phase == "winner")
        .group_by(A.flow_id, A.step_id)
    ):
        winners[(flow_id, step_id)] = count
    for row in conn.execute(
        select(D.flow_id, D.step_id, D.winner, D.decided_at, D.rule).where(
            tuple_(D.flow_id, D.step_id).in_(list(steps))
        )
    ):
        decided[(row.flow_id, row.step_id)] = Decision(
            winner=row.winner, decided_at=row.decided_at, rule=row.rule
        )
    return rows, winners, decided


def _every_lift(conn: Connection, percents: dict[str, dict[int, float]]) -> dict[str, LiftResult]:
    if not percents:
        return {}
    J, C = journey_index.c, journey_conversions.c
    pairs = [
        (flow_id, version) for flow_id, by_version in percents.items() for version in by_version
    ]
    converted: dict[str, set[str]] = defaultdict(set)
    for flow_id, journey_id in conn.execute(
        select(C.flow_id, C.journey_id).where(tuple_(C.flow_id, C.flow_version).in_(pairs))
    ):
        converted[flow_id].add(journey_id)
    journeys: dict[str, list[tuple]] = defaultdict(list)
    for flow_id, workflow_id, contact_id, version in conn.execute(
        select(J.flow_id, J.workflow_id, J.contact_id, J.flow_version).where(
            tuple_(J.flow_id, J.flow_version).in_(pairs)
        )
    ):
        journeys[flow_id].append((workflow_id, contact_id, version))
    return {
        flow_id: _lift(flow_id, by_version, converted[flow_id], journeys[flow_id])
        for flow_id, by_version in percents.items()
    }


class NotAnExperiment(LookupError):
    pass


def flow_experiments(conn: Connection, flow_id: str, now: datetime) -> FlowExperiments:
    """Every experiment step of the flow's newest published version (none before the
    first publish, version 0), and its holdout lift: every_flow_experiments' path for
    this one flow, so both read in a fixed number of queries and agree."""
    history = versions(conn, flow_id)
    if not history:
        return FlowExperiments(flow_id=flow_id, version=0, experiments=[], lift=None)
    return _reports(conn, {flow_id: history}, now)[0]


def experiment_at(conn: Connection, flow_id: str, step_id: str, now: datetime) -> ExperimentResult:
    """One experiment step of the newest version; NotAnExperiment names what is there."""
    history = versions(conn, flow_id)
    step = next((s for s in history[-1].steps if s.id == step_id), None) if history else None
    if not isinstance(step, Experiment):
        found = "no such step" if step is None else f"a {step.kind} step"
        raise NotAnExperiment(
            f"flow {flow_id!r} has {found} at {step_id!r} in its newest "
            "published version, not an experiment"
        )
    return step_result(conn, flow_id, step, now)
