"""choose_variant: which variant of an experiment step a contact gets, and the moment
the experiment is decided.

The decision is made here, lazily: by the first contact to reach the step once the
winner rule is met (nobody needs the winner before that). It is computed from the read
models (projections/experiments.py), stored once (experiment_decisions) and read by every
later contact, so they all get the same winner. Until then a contact gets the variant
its hash picks (domain.experiments.assignment). The choice is recorded under the step
visit's idempotency key: a retried activity returns what it chose the first time, and
the journey's history keeps that answer for replay."""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from temporalio import activity

from domain.experiments.assignment import assign_variant
from domain.experiments.contract import VariantChoice, VariantRequest
from domain.experiments.results import VariantCounts, decision_due
from domain.steps.experiments import Experiment
from projections.experiment_schema import experiment_assignments
from projections.experiments import (
    decision,
    record_assignment,
    recorded,
    step_result,
    store_decision,
)

A = experiment_assignments.c


def wall_clock() -> datetime:
    return datetime.now(UTC)


class ExperimentActivities:
    def __init__(self, engine: Engine, clock: Callable[[], datetime] = wall_clock):
        """`clock`: the read models' clock (assignments, and the windows measured against
        them); tests pass one they move forward instead of sleeping."""
        self.engine = engine
        self.clock = clock

    @activity.defn(name="choose_variant")
    def choose_variant(self, request: VariantRequest) -> VariantChoice:
        step = Experiment.model_validate(request.step)
        with self.engine.begin() as conn:
            known = recorded(conn, request.message_key)
            if known is not None:
                return VariantChoice(variant=known[0], phase=known[1])
            now = self.clock()
            decided = decision(conn, request.flow_id, step.id)
            if decided is None and self._may_be_due(conn, request.flow_id, step, now):
                result = step_result(conn, request.flow_id, step, now)
                if result.decision_due and result.leader is not None:
                    decided = store_decision(conn, request.flow_id, step.id, result, now)
                    activity.logger.info(
                        "experiment %s/%s decided: %s wins",
                        request.flow_id,
                        step.id,
                        decided.winner,
                    )
            # A winner the step no longer has (a later version renamed it) is no answer:
            # such contacts are assigned as during the test.
            if decided is not None and step.variant(decided.winner) is not None:
                variant, phase = decided.winner, "winner"
            else:
                variant, phase = assign_variant(step, request.flow_id, request.contact_id), "test"
            record_assignment(
                conn,
                message_key=request.message_key,
                flow_id=request.flow_id,
                flow_version=request.flow_version,
                step_id=step.id,
                contact_id=request.contact_id,
                journey_id=request.journey_id,
                variant=variant,
                phase=phase,
                assigned_at=now,
            )
            variant, phase = recorded(conn, request.message_key)
        return VariantChoice(variant=variant, phase=phase)

    def _may_be_due(self, conn, flow_id: str, step: Experiment, now: datetime) -> bool:
        """The rule on plain counts (measured contacts per variant, the first assignment)
        before the full result is computed: most arrivals are not the deciding one."""
        cutoff = now - step.metric.window
        counts = {
            name: VariantCounts(name=name, measured=n)
            for name, n in conn.execute(
                select(A.variant, func.count())
                .where(
                    A.flow_id == flow_id,
                    A.step_id == step.id,
                    A.phase == "test",
                    A.assigned_at <= cutoff,
                )
                .group_by(A.variant)
            )
        }
        first = conn.execute(
            select(func.min(A.assigned_at)).where(
                A.flow_id == flow_id, A.step_id == step.id, A.phase == "test"
            )
        ).scalar_one()
        return decision_due(step, counts, first, now)
