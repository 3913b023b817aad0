"""The statistics against values SciPy itself (and the literature) gives, never against
numbers this code produced: Newcombe's (1998) worked example for the interval of a
difference, SciPy's Fisher, chi-squared, Wilson and relative-risk routines for the rest."""

from datetime import UTC, datetime

import pytest
from scipy.stats import binomtest, chi2_contingency, fisher_exact
from scipy.stats.contingency import relative_risk

from domain.experiments import statistics as stats
from domain.experiments.results import VariantCounts, experiment_result, lift_result
from domain.flow import Flow


def test_difference_of_two_rates_matches_newcombe_and_fisher():
    control, variant = stats.rate(48, 80), stats.rate(56, 70)
    d = stats.difference(control, variant)
    assert d.difference == pytest.approx(0.2)
    # Newcombe (1998), Table II, example (a) 56/70 vs 48/80, method 10: 0.0524 to 0.3339.
    assert (round(d.ci_low, 4), round(d.ci_high, 4)) == (0.0524, 0.3339)
    assert (
        d.p_value == fisher_exact([[56, 14], [48, 32]]).pvalue == pytest.approx(0.012521, abs=1e-6)
    )


def test_rate_interval_is_scipys_wilson_interval():
    r = stats.rate(7, 20)
    wilson = binomtest(7, 20).proportion_ci(method="wilson")
    assert (r.rate, r.ci_low, r.ci_high) == (0.35, wilson.low, wilson.high)
    assert stats.rate(0, 0) == stats.Rate(0, 0, None, None, None)


def test_no_difference_at_the_extremes_keeps_a_sane_interval():
    d = stats.difference(stats.rate(0, 10), stats.rate(0, 10))
    assert (d.difference, d.p_value) == (0.0, 1.0)
    assert d.ci_low < 0 < d.ci_high
    assert stats.difference(stats.rate(0, 0), stats.rate(1, 2)) == stats.Difference(
        None, None, None, None
    )


def test_overall_p_value_is_chi_squared_over_every_variant():
    rates = [stats.rate(10, 100), stats.rate(20, 100), stats.rate(15, 100)]
    table = [[10, 90], [20, 80], [15, 85]]
    assert stats.overall_p_value(rates) == chi2_contingency(table, correction=False).pvalue
    assert stats.overall_p_value([stats.rate(0, 5), stats.rate(0, 5)]) is None


def test_relative_lift_is_scipys_relative_risk_minus_one():
    lift = stats.relative_lift(stats.rate(30, 200), stats.rate(10, 100))
    rr = relative_risk(30, 200, 10, 100)
    ci = rr.confidence_interval(confidence_level=0.95)
    assert lift.relative_lift == pytest.approx(0.5)
    assert (lift.ci_low, lift.ci_high) == (ci.low - 1, ci.high - 1)
    result = lift_result("f", 10, treated=(200, 30), holdout=(100, 10))
    assert result.p_value == fisher_exact([[30, 170], [10, 90]]).pvalue
    assert result.difference == pytest.approx(0.05)


def test_result_compares_each_variant_with_the_first_and_names_the_leader():
    flow = Flow.model_validate(
        {
            "id": "f",
            "trigger": {"event": "form.submitted"},
            "steps": [
                {
                    "id": "t",
                    "kind": "experiment",
                    "variants": [
                        {"name": "a", "subject": "A", "body": "."},
                        {"name": "b", "subject": "B", "body": "."},
                        {"name": "c", "subject": "C", "body": "."},
                    ],
                    "winner": {"after": "sample_size", "sample_size": 50},
                }
            ],
        }
    )
    counts = {
        "a": VariantCounts(name="a", assigned=60, measured=50, successes=10),
        "b": VariantCounts(name="b", assigned=55, measured=50, successes=20),
        "c": VariantCounts(name="c", assigned=52, measured=49, successes=20),
    }
    now = datetime.now(UTC)
    result = experiment_result("f", flow.steps[0], counts, now, now, None)
    a, b, c = result.variants
    assert a.difference is None and b.difference == pytest.approx(0.2)
    assert b.p_value == fisher_exact([[20, 30], [10, 40]]).pvalue
    assert result.leader == "c"  # 20/49 beats 20/50
    assert result.decision_due is False  # c has 49 measured of the 50 needed
    counts["c"] = VariantCounts(name="c", assigned=52, measured=50, successes=20)
    result = experiment_result("f", flow.steps[0], counts, now, now, None)
    assert result.decision_due and result.leader == "b"  # a tie goes to the first listed
