"""An experiment's result and its flow's holdout lift, built from counts (pure). These
models are what `GET /v1/flows/{id}/experiments`, `dripstone flow experiment` and the
console show; projections/experiments.py fills them from the read models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.experiments import statistics as stats
from domain.steps.experiments import Experiment


class VariantCounts(BaseModel):
    """Test-phase contacts of one variant: `assigned` reached the step, `measured` have
    had their metric window close, `successes` of those met the metric within it."""

    name: str
    assigned: int = 0
    measured: int = 0
    successes: int = 0


class VariantResult(BaseModel):
    name: str
    weight: float
    assigned: int
    measured: int
    successes: int
    rate: float | None
    rate_ci: tuple[float, float] | None
    # Against the first variant (the control): this rate minus the control's.
    difference: float | None = None
    difference_ci: tuple[float, float] | None = None
    p_value: float | None = None


class Decision(BaseModel):
    winner: str
    decided_at: datetime
    rule: str


class ExperimentResult(BaseModel):
    flow_id: str
    step_id: str
    channel: str
    metric: str
    window_seconds: int
    rule: str
    confidence: float = stats.CONFIDENCE
    variants: list[VariantResult]
    overall_p_value: float | None
    leader: str | None  # the variant that would win if decided now
    decision_due: bool
    decision: Decision | None
    winner_sends: int = 0  # contacts who got the winner after the decision


class LiftResult(BaseModel):
    """Conversions of contacts who got the flow (treated) against its holdout."""

    flow_id: str
    holdout_percent: float
    treated: int
    treated_conversions: int
    treated_rate: float | None
    holdout: int
    holdout_conversions: int
    holdout_rate: float | None
    difference: float | None
    difference_ci: tuple[float, float] | None
    p_value: float | None
    relative_lift: float | None
    relative_lift_ci: tuple[float | None, float | None] | None
    confidence: float = stats.CONFIDENCE


def leader(step: Experiment, counts: dict[str, VariantCounts]) -> str | None:
    """Best measured rate; the first listed variant wins a tie."""
    best, best_rate = None, -1.0
    for variant in step.variants:
        c = counts.get(variant.name)
        if c is None or c.measured == 0:
            continue
        if c.successes / c.measured > best_rate:
            best, best_rate = variant.name, c.successes / c.measured
    return best


def decision_due(
    step: Experiment,
    counts: dict[str, VariantCounts],
    first_assigned_at: datetime | None,
    now: datetime,
) -> bool:
    """The winner rule is met: every variant has measured contacts (`sample_size` of
    them, or at least one once the test period since the first test contact is over)."""
    measured = [counts.get(v.name, VariantCounts(name=v.name)).measured for v in step.variants]
    rule = step.winner
    if rule.after == "sample_size":
        return rule.sample_size is not None and min(measured) >= rule.sample_size
    return (
        rule.test_period is not None
        and first_assigned_at is not None
        and now >= first_assigned_at + rule.test_period
        and min(measured) >= 1
    )


def experiment_result(
    flow_id: str,
    step: Experiment,
    counts: dict[str, VariantCounts],
    first_assigned_at: datetime | None,
    now: datetime,
    decision: Decision | None,
    winner_sends: int = 0,
) -> ExperimentResult:
    rates = {
        v.name: stats.rate(
            counts.get(v.name, VariantCounts(name=v.name)).successes,
            counts.get(v.name, VariantCounts(name=v.name)).measured,
        )
        for v in step.variants
    }
    control = rates[step.variants[0].name] if step.variants else None
    variants = []
    for index, v in enumerate(step.variants):
        c, r = counts.get(v.name, VariantCounts(name=v.name)), rates[v.name]
        result = VariantResult(
            name=v.name,
            weight=v.weight,
            assigned=c.assigned,
            measured=c.measured,
            successes=c.successes,
            rate=r.rate,
            rate_ci=None if r.rate is None else (r.ci_low, r.ci_high),
        )
        if index > 0 and control is not None:
            d = stats.difference(control, r)
            result = result.model_copy(
                update={
                    "difference": d.difference,
                    "p_value": d.p_value,
                    "difference_ci": None if d.difference is None else (d.ci_low, d.ci_high),
                }
            )
        variants.append(result)
    return ExperimentResult(
        flow_id=flow_id,
        step_id=step.id,
        channel=step.channel,
        metric=step.metric.kind,
        window_seconds=int(step.metric.window.total_seconds()),
        rule=step.winner.after,
        variants=variants,
        overall_p_value=stats.overall_p_value(list(rates.values())),
        leader=leader(step, counts),
        decision=decision,
        winner_sends=winner_sends,
        decision_due=decision is None and decision_due(step, counts, first_assigned_at, now),
    )


def lift_result(
    flow_id: str, percent: float, treated: tuple[int, int], holdout: tuple[int, int]
) -> LiftResult:
    """`treated` and `holdout`: (enrolled journeys, converted journeys)."""
    t, h = stats.rate(treated[1], treated[0]), stats.rate(holdout[1], holdout[0])
    d, lift = stats.difference(h, t), stats.relative_lift(t, h)
    return LiftResult(
        flow_id=flow_id,
        holdout_percent=percent,
        treated=t.trials,
        treated_conversions=t.successes,
        treated_rate=t.rate,
        holdout=h.trials,
        holdout_conversions=h.successes,
        holdout_rate=h.rate,
        difference=d.difference,
        difference_ci=None if d.difference is None else (d.ci_low, d.ci_high),
        p_value=d.p_value,
        relative_lift=lift.relative_lift,
        relative_lift_ci=None if lift.relative_lift is None else (lift.ci_low, lift.ci_high),
    )
