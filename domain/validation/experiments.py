"""Rules for experiment steps: two to five named variants with positive weights, content
each variant's channel can send (checked as the message it sends as), a metric the
channel can measure, and a winner rule with its setting."""

from __future__ import annotations

import math

from domain.flow import Flow
from domain.steps import Step
from domain.steps.experiments import MAX_VARIANTS, METRICS, MIN_VARIANTS, Experiment
from domain.steps.flow_control import Goal
from domain.validation.content import check_content
from domain.validation.problems import Problem, missing
from domain.validation.step_settings import check_step_settings

# Fields a variant's message takes from the variant itself (the rest are the step's).
_VARIANT_FIELDS = {"subject", "body", "template_id", "text", "locales"}
_OTHER_CHANNEL = {"email": ("text",), "sms": ("subject", "body", "template_id")}


def check_experiment(
    step: Step, flow: Flow, known_fields: set[str] | None, known_events: set[str]
) -> list[Problem]:
    if not isinstance(step, Experiment):
        return []
    return _variants(step, known_fields, known_events) + _metric(step, flow) + _winner(step)


def _problem(step: Experiment, field: str, code: str, message: str) -> Problem:
    return Problem(step_id=step.id, field=field, code=code, message=message)


def _variants(
    step: Experiment, known_fields: set[str] | None, known_events: set[str]
) -> list[Problem]:
    count = len(step.variants)
    problems = []
    if not MIN_VARIANTS <= count <= MAX_VARIANTS:
        problems.append(
            _problem(
                step,
                "variants",
                "variant_count",
                (
                    f"an experiment has {MIN_VARIANTS} to {MAX_VARIANTS} variants; this one has {count}"
                ),
            )
        )
    seen: set[str] = set()
    for i, variant in enumerate(step.variants):
        at = f"variants.{i}"
        if not variant.name.strip():
            problems.append(missing(step.id, f"{at}.name", "a variant name"))
        elif variant.name in seen:
            problems.append(
                _problem(
                    step,
                    f"{at}.name",
                    "duplicate_variant",
                    f"another variant is already named {variant.name!r}",
                )
            )
        elif len(variant.name) > 100:
            problems.append(_problem(step, f"{at}.name", "too_long", "at most 100 characters"))
        seen.add(variant.name)
        if not (math.isfinite(variant.weight) and variant.weight > 0):
            problems.append(
                _problem(
                    step,
                    f"{at}.weight",
                    "bad_weight",
                    (f"weights are relative shares and must be more than 0 (got {variant.weight})"),
                )
            )
        for field in _OTHER_CHANNEL[step.channel]:
            if getattr(variant, field):
                problems.append(
                    _problem(
                        step,
                        f"{at}.{field}",
                        "wrong_channel",
                        (
                            f"{field} is not used by an {step.channel.replace('sms', 'SMS')} experiment"
                        ),
                    )
                )
            for tag, content in variant.locales.items():
                if getattr(content, field):
                    problems.append(
                        _problem(
                            step,
                            f"{at}.locales.{tag}.{field}",
                            "wrong_channel",
                            (
                                f"{field} is not used by an {step.channel.replace('sms', 'SMS')} experiment"
                            ),
                        )
                    )
        # The variant's message carries its locales: their tags and each locale's merge
        # tags are checked as a message step's are (`variants.<i>.locales.<tag>.<field>`).
        message = step.message(variant)
        for problem in check_step_settings(message, "", known_events) + check_content(
            message, known_fields
        ):
            if problem.field.split(".")[0] in _VARIANT_FIELDS:
                problem = problem.model_copy(update={"field": f"{at}.{problem.field}"})
            problems.append(problem)
    return problems


def _metric(step: Experiment, flow: Flow) -> list[Problem]:
    metric, problems = step.metric, []
    if metric.kind not in METRICS:
        return [
            _problem(
                step,
                "metric.kind",
                "unknown_metric",
                (f"unknown metric {metric.kind!r}; use one of {', '.join(METRICS)}"),
            )
        ]
    if metric.kind in ("opened", "clicked") and step.channel != "email":
        problems.append(
            _problem(
                step,
                "metric.kind",
                "metric_needs_email",
                (f"{metric.kind} is measured for email only; an SMS experiment measures converted"),
            )
        )
    goals = [s.id for s in flow.steps if isinstance(s, Goal)]
    if metric.kind == "converted" and not goals:
        problems.append(
            _problem(step, "metric.kind", "no_goal", "converted needs a goal step in the flow")
        )
    if metric.goal is not None and metric.kind != "converted":
        problems.append(
            _problem(
                step, "metric.goal", "not_used", "a goal is only measured by the converted metric"
            )
        )
    elif metric.goal is not None and metric.goal not in goals:
        problems.append(
            _problem(
                step,
                "metric.goal",
                "unknown_goal",
                f"{metric.goal!r} is not a goal step of this flow",
            )
        )
    if metric.window.total_seconds() <= 0:
        problems.append(
            _problem(step, "metric.window", "not_positive", "the window must be longer than zero")
        )
    return problems


def _winner(step: Experiment) -> list[Problem]:
    rule = step.winner
    if rule.after == "test_period":
        if rule.test_period is None or rule.test_period.total_seconds() <= 0:
            return [missing(step.id, "winner.test_period", "a test period longer than zero")]
    elif rule.sample_size is None or rule.sample_size < 1:
        return [missing(step.id, "winner.sample_size", "a sample size of at least 1 per variant")]
    return []
