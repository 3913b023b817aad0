"""`dripstone flow experiment FLOW STEP [--json]`: an experiment step's result, and the
flow's holdout lift, from the read models as of now (projections/experiments.py)."""

from datetime import UTC, datetime, timedelta

import typer
from rich.table import Table

from cli.flow_support import FlowIdArg, catalogue
from cli.output import console, fail


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _interval(pair) -> str:
    if pair is None:
        return "-"
    low, high = pair
    return f"[{_pct(low)}, {_pct(high)}]" if high is not None else f"[{_pct(low)}, -]"


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def experiment(
    flow_id: FlowIdArg,
    step_id: str = typer.Argument(help="The experiment step's id."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """An experiment step's result: counts, rates, the difference from the first variant
    with its 95% interval and p-value (Fisher's exact test), the winner once decided; and
    the flow's lift over its holdout, if it keeps one."""
    import json

    from domain.durations import format_duration
    from projections.experiments import NotAnExperiment, experiment_at, holdout_lift
    from projections.flow_catalogue import get_flow, versions

    now = datetime.now(UTC)
    with catalogue() as conn:
        get_flow(conn, flow_id)
        try:
            result = experiment_at(conn, flow_id, step_id, now)
        except NotAnExperiment as exc:
            fail(str(exc))
        lift = holdout_lift(conn, flow_id, versions(conn, flow_id))
    if as_json:
        print(
            json.dumps(
                {
                    "experiment": result.model_dump(mode="json"),
                    "lift": lift.model_dump(mode="json") if lift else None,
                },
                indent=2,
            )
        )
        return
    window = format_duration(timedelta(seconds=result.window_seconds))
    table = Table(
        title=f"Experiment {flow_id}/{step_id}: {result.metric} within {window} "
        f"({result.channel}, winner after {result.rule.replace('_', ' ')})"
    )
    for column in (
        "variant",
        "weight",
        "assigned",
        "measured",
        result.metric,
        "rate",
        "95% CI",
        "vs first",
        "95% CI of difference",
        "p-value",
    ):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for v in result.variants:
        table.add_row(
            v.name,
            f"{v.weight:g}",
            str(v.assigned),
            str(v.measured),
            str(v.successes),
            _pct(v.rate),
            _interval(v.rate_ci),
            "-" if v.difference is None else f"{v.difference * 100:+.1f} pts",
            _interval(v.difference_ci),
            _p(v.p_value),
        )
    console.print(table)
    if result.overall_p_value is not None and len(result.variants) > 2:
        console.print(f"overall p-value (chi-squared): {_p(result.overall_p_value)}")
    if result.decision is not None:
        console.print(
            f"winner: {result.decision.winner} (decided {result.decision.decided_at:%Y-%m-%d %H:%M} "
            f"UTC by {result.decision.rule}); {result.winner_sends} contacts got it since"
        )
    else:
        due = (
            "the rule is met: decided when the next contact arrives"
            if result.decision_due
            else "testing"
        )
        console.print(f"no winner yet ({due}); leading: {result.leader or '-'}")
    if lift is not None:
        console.print(
            f"holdout {lift.holdout_percent:g}%: treated {lift.treated_conversions}/{lift.treated} "
            f"converted ({_pct(lift.treated_rate)}), holdout {lift.holdout_conversions}/{lift.holdout} "
            f"({_pct(lift.holdout_rate)}); difference "
            f"{'-' if lift.difference is None else f'{lift.difference * 100:+.1f} pts'} "
            f"{_interval(lift.difference_ci)}, p {_p(lift.p_value)}; relative lift "
            f"{_pct(lift.relative_lift)} {_interval(lift.relative_lift_ci)}"
        )
