"""Statistics of experiments, from counts only (pure, deterministic; SciPy does the
arithmetic). Never imported by workflow code: SciPy has no place in the sandbox.

- A rate's interval: Wilson score, scipy.stats.binomtest(...).proportion_ci.
- A difference of two rates: p-value from scipy.stats.fisher_exact (two-sided, exact at
  any sample size). Its confidence interval is Newcombe's hybrid score interval (method
  10 of Newcombe 1998), made of the two rates' Wilson limits from SciPy: SciPy has no
  routine for a difference of proportions, and this is the interval the literature
  recommends over the Wald one (which collapses at rates of 0 or 1).
- Three or more variants: one overall p-value from scipy.stats.chi2_contingency.
- A holdout's relative lift: scipy.stats.contingency.relative_risk and its interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import binomtest, chi2_contingency, fisher_exact
from scipy.stats.contingency import relative_risk

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Rate:
    successes: int
    trials: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class Difference:
    """`rate(b) - rate(a)`, with its interval and the two-sided p-value of no difference."""

    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def rate(successes: int, trials: int, confidence: float = CONFIDENCE) -> Rate:
    if trials == 0:
        return Rate(successes, trials, None, None, None)
    ci = binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="wilson")
    return Rate(successes, trials, successes / trials, float(ci.low), float(ci.high))


def difference(a: Rate, b: Rate, confidence: float = CONFIDENCE) -> Difference:
    """b minus a. Undefined (all None) while either side has no trials."""
    if a.trials == 0 or b.trials == 0:
        return Difference(None, None, None, None)
    a, b = rate(a.successes, a.trials, confidence), rate(b.successes, b.trials, confidence)
    table = [[b.successes, b.trials - b.successes], [a.successes, a.trials - a.successes]]
    p_value = float(fisher_exact(table, alternative="two-sided").pvalue)
    delta = b.rate - a.rate
    low = delta - math.sqrt((b.rate - b.ci_low) ** 2 + (a.ci_high - a.rate) ** 2)
    high = delta + math.sqrt((b.ci_high - b.rate) ** 2 + (a.rate - a.ci_low) ** 2)
    return Difference(delta, max(-1.0, low), min(1.0, high), min(1.0, p_value))


def overall_p_value(rates: list[Rate]) -> float | None:
    """Whether the rates differ at all (k x 2 chi-squared); None where the test is
    undefined (a variant without trials, or no successes or no failures anywhere)."""
    if len(rates) < 2 or any(r.trials == 0 for r in rates):
        return None
    table = [[r.successes, r.trials - r.successes] for r in rates]
    if all(row[0] == 0 for row in table) or all(row[1] == 0 for row in table):
        return None
    return float(chi2_contingency(table, correction=False).pvalue)


@dataclass(frozen=True)
class Lift:
    """Treated against holdout: relative lift = risk ratio - 1, with its interval."""

    relative_lift: float | None
    ci_low: float | None
    ci_high: float | None


def relative_lift(treated: Rate, holdout: Rate, confidence: float = CONFIDENCE) -> Lift:
    if treated.trials == 0 or holdout.trials == 0 or holdout.successes == 0:
        return Lift(None, None, None)
    result = relative_risk(treated.successes, treated.trials, holdout.successes, holdout.trials)
    ci = result.confidence_interval(confidence_level=confidence)
    high = float(ci.high) - 1 if math.isfinite(ci.high) else None
    return Lift(float(result.relative_risk) - 1, float(ci.low) - 1, high)
