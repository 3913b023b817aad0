"""Warnings for what this engine version can store and publish but not yet run, so a
user learns it at publish time rather than from a failed journey."""

from domain.conditions import unevaluable_kinds
from domain.flow import Flow
from domain.steps import EXECUTABLE_KINDS
from domain.steps import flow_control as fc
from domain.validation.problems import Problem


def _conditions_of(step) -> dict[str, object]:
    found = {"run_if": step.run_if,
             "audience.terms": step.audience.terms if step.audience else None}
    if isinstance(step, fc.Branch):
        found["condition"] = step.condition
    if isinstance(step, fc.MultiBranch):
        found |= {f"paths.{i}.condition": p.condition for i, p in enumerate(step.paths)}
    if isinstance(step, fc.Goal):
        found["goal"] = step.goal
    if isinstance(step, fc.WaitForEvent):
        found["matching"] = step.matching
    return {field: c for field, c in found.items() if c is not None}


def _warn(step_id, field, code, message) -> Problem:
    return Problem(step_id=step_id, field=field, code=code, severity="warning", message=message)


def check_capabilities(flow: Flow) -> list[Problem]:
    problems = []
    if flow.trigger.condition is not None and (kinds := unevaluable_kinds(flow.trigger.condition)):
        problems.append(_warn(None, "trigger.condition", "not_evaluable_yet",
                              f"this engine cannot evaluate {', '.join(sorted(kinds))} yet; "
                              "events will not enroll anyone through this filter"))
    for step in flow.steps:
        if step.kind not in EXECUTABLE_KINDS:
            problems.append(_warn(step.id, "kind", "not_executable_yet",
                                  f"this engine cannot run {step.kind!r} steps yet; "
                                  "journeys that reach this step will fail"))
        if step.when is not None and step.when.local_at is not None:
            problems.append(_warn(step.id, "when.local_at", "not_executable_yet",
                                  "running at a time in the contact's zone is not supported "
                                  "by this engine yet"))
        if isinstance(step, fc.Wait) and step.time_of_day is not None:
            problems.append(_warn(step.id, "time_of_day", "not_executable_yet",
                                  "waiting for a time of day is not supported by this engine yet"))
        for field, condition in _conditions_of(step).items():
            if kinds := unevaluable_kinds(condition):
                problems.append(_warn(step.id, field, "not_evaluable_yet",
                                      f"this engine cannot evaluate {', '.join(sorted(kinds))} "
                                      "yet; journeys checking it will fail"))
    return problems

