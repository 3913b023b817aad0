"""Flow validation: every problem a publish must refuse, each naming its step and field.

Returns a list instead of raising so a draft can be saved with problems and an editor
can show all of them at once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from domain.conditions import OPERATORS_WITHOUT_VALUE, AttributeCompare, HasTag, walk
from domain.events import PAYLOAD_SCHEMAS
from domain.flow import AddTag, Branch, Flow, RemoveTag, SendEmail, SendSms, Step, Wait
from domain.merge_tags import MergeTagError, referenced_names

Severity = Literal["error", "warning"]


class Problem(BaseModel):
    step_id: str | None
    field: str
    code: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"step {self.step_id}" if self.step_id else "flow"
        return f"{self.severity}: {where}, {self.field}: {self.message} [{self.code}]"


def parse_flow(document: dict[str, Any]) -> tuple[Flow | None, list[Problem]]:
    """Turn a raw document into a Flow, or into problems that name the offending field."""
    try:
        flow = Flow.model_validate(document)
    except ValidationError as exc:
        return None, [_problem_from_pydantic(document, e) for e in exc.errors()]
    return flow, validate_flow(flow)


def _problem_from_pydantic(document: dict[str, Any], error: Any) -> Problem:
    loc = list(error["loc"])
    step_id = None
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = document.get("steps") or []
        step = steps[loc[1]] if loc[1] < len(steps) else None
        step_id = step.get("id") if isinstance(step, dict) else None
        rest = loc[2:]
        # pydantic puts the discriminator value (e.g. 'send_email') in the path: noise.
        if rest and rest[0] in _STEP_KINDS:
            rest = rest[1:]
        if not rest and error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            rest = ["kind"]
        loc = rest if step_id else loc[:2] + rest
    field = ".".join(str(p) for p in loc) or "document"
    return Problem(step_id=step_id, field=field, code="invalid", message=error["msg"])


_STEP_KINDS = {"send_email", "send_sms", "add_tag", "remove_tag", "wait", "branch", "exit"}


def validate_flow(flow: Flow) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_trigger(flow)
    problems += _check_ids_and_references(flow)
    for step in flow.steps:
        problems += _check_settings(step)
    problems += _check_reachability(flow)
    problems += _check_waitless_cycles(flow)
    return problems


def _check_trigger(flow: Flow) -> list[Problem]:
    problems = []
    if flow.trigger.event not in PAYLOAD_SCHEMAS:
        problems.append(Problem(step_id=None, field="trigger.event", code="unknown_event",
                                message=f"unknown event type {flow.trigger.event!r}"))
    if flow.trigger.condition is not None:
        problems += _check_condition(None, "trigger.condition", flow.trigger.condition)
    return problems


def _check_ids_and_references(flow: Flow) -> list[Problem]:
    problems, seen = [], set()
    for step in flow.steps:
        if step.id in seen:
            problems.append(Problem(step_id=step.id, field="id", code="duplicate_id",
                                    message=f"step id {step.id!r} is used more than once"))
        seen.add(step.id)
    for step in flow.steps:
        refs = {"next": step.next}
        if isinstance(step, Branch):
            refs |= {"then": step.then, "otherwise": step.otherwise}
        for field, target in refs.items():
            if target is not None and target not in seen:
                problems.append(Problem(step_id=step.id, field=field, code="unknown_step",
                                        message=f"points to step {target!r}, which does not exist"))
    return problems


def _missing(step: Step, field: str, what: str) -> Problem:
    return Problem(step_id=step.id, field=field, code="missing_setting", message=f"{what} is required")


def _check_settings(step: Step) -> list[Problem]:
    problems = []
    if isinstance(step, SendEmail):
        if not step.subject.strip():
            problems.append(_missing(step, "subject", "an email subject"))
        if not step.body.strip():
            problems.append(_missing(step, "body", "an email body"))
        problems += _check_template(step, "subject", step.subject)
        problems += _check_template(step, "body", step.body)
    elif isinstance(step, SendSms):
        if not step.text.strip():
            problems.append(_missing(step, "text", "the SMS text"))
        problems += _check_template(step, "text", step.text)
    elif isinstance(step, (AddTag, RemoveTag)) and not step.tag.strip():
        problems.append(_missing(step, "tag", "a tag name"))
    elif isinstance(step, Wait):
        if (step.delay is None) == (step.until is None):
            problems.append(Problem(step_id=step.id, field="delay", code="wait_needs_one",
                                    message="give exactly one of 'delay' or 'until'"))
        elif step.delay is not None and step.delay.total_seconds() <= 0:
            problems.append(Problem(step_id=step.id, field="delay", code="not_positive",
                                    message="the delay must be longer than zero"))
    elif isinstance(step, Branch):
        if step.condition is None:
            problems.append(_missing(step, "condition", "a condition"))
        else:
            problems += _check_condition(step.id, "condition", step.condition)
    return problems


def _check_template(step: Step, field: str, template: str) -> list[Problem]:
    try:
        referenced_names(template)
    except MergeTagError as exc:
        return [Problem(step_id=step.id, field=field, code="bad_merge_tag", message=str(exc))]
    return []


def _check_condition(step_id: str | None, field: str, condition: Any) -> list[Problem]:
    problems = []
    for node in walk(condition):
        if isinstance(node, HasTag) and not node.tag.strip():
            problems.append(Problem(step_id=step_id, field=f"{field}.tag", code="missing_setting",
                                    message="a tag name is required"))
        if isinstance(node, AttributeCompare):
            if not node.field.strip():
                problems.append(Problem(step_id=step_id, field=f"{field}.field",
                                        code="missing_setting", message="an attribute name is required"))
            if node.op not in OPERATORS_WITHOUT_VALUE and node.value is None:
                problems.append(Problem(step_id=step_id, field=f"{field}.value", code="missing_setting",
                                        message=f"operator {node.op!r} needs a value"))
    return problems


def _check_reachability(flow: Flow) -> list[Problem]:
    known = {s.id for s in flow.steps}
    reached, stack = set(), [flow.steps[0].id]
    while stack:
        current = stack.pop()
        if current in reached or current not in known:
            continue
        reached.add(current)
        stack.extend(flow.successors(flow.step(current)))
    return [Problem(step_id=s.id, field="id", code="unreachable",
                    message="no path from the first step leads here")
            for s in flow.steps if s.id not in reached]


def _check_waitless_cycles(flow: Flow) -> list[Problem]:
    """A loop with no wait in it would spin the journey (and the providers) forever."""
    known = {s.id for s in flow.steps}
    graph = {s.id: [t for t in flow.successors(s) if t in known]
             for s in flow.steps if not isinstance(s, Wait)}
    problems, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in graph.get(node, []):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                problems.append(Problem(step_id=target, field="next", code="cycle_without_wait",
                                        message="loop without a wait: " + " -> ".join(cycle)))
            elif target in graph and target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [node])
    return problems
