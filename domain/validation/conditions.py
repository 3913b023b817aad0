"""Settings every condition predicate needs, anywhere in an all/any/not tree."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain import predicates as p
from domain.conditions import Condition, walk
from domain.validation.problems import Problem, missing

_REQUIRED_TEXT = {
    p.HasTag: ("tag", "a tag name"),
    p.AttributeCompare: ("field", "an attribute name"),
    p.CourseStarted: ("course", "a course"),
    p.CourseCompleted: ("course", "a course"),
    p.CourseStepCompleted: ("course", "a course"),
    p.HasProduct: ("product", "a product"),
    p.PurchasedProduct: ("product", "a product"),
    p.InsideFunnel: ("funnel", "a funnel"),
    p.VisitedPage: ("page", "a page"),
    p.LeadEvent: ("event", "an event"),
}


def check_condition(step_id: str | None, field: str, condition: Condition | None) -> list[Problem]:
    problems: list[Problem] = []
    if condition is None:
        return problems
    for node in walk(condition):
        required = _REQUIRED_TEXT.get(type(node))
        if required and not (getattr(node, required[0]) or "").strip():
            problems.append(missing(step_id, f"{field}.{required[0]}", required[1]))
        problems += _node_rules(step_id, field, node)
    return problems


def _node_rules(step_id: str | None, field: str, node: Condition) -> list[Problem]:
    if isinstance(node, (p.AttributeCompare, p.LeadEvent)):
        needs_value = node.op not in p.OPERATORS_WITHOUT_VALUE
        if isinstance(node, p.LeadEvent) and node.property is None:
            needs_value = False
        if needs_value and node.value is None:
            return [missing(step_id, f"{field}.value", f"operator {node.op!r} needs a value")]
        if node.op == "in" and not isinstance(node.value, list):
            return [
                Problem(
                    step_id=step_id,
                    field=f"{field}.value",
                    code="invalid",
                    message="operator 'in' needs a list of values",
                )
            ]
    if isinstance(node, p.CourseStepCompleted) and not node.step.strip():
        return [missing(step_id, f"{field}.step", "a course step")]
    if isinstance(node, (p.CurrentDate, p.CurrentTime)) and not _known_zone(node.timezone):
        return [
            Problem(
                step_id=step_id,
                field=f"{field}.timezone",
                code="unknown_timezone",
                message=f"{node.timezone!r} is not an IANA time zone name "
                '(or "contact" for the contact\'s own zone)',
            )
        ]
    if isinstance(node, p.CurrentTime) and node.after is None and node.before is None:
        return [missing(step_id, f"{field}.after", "a time range (after and/or before)")]
    if isinstance(node, p.ReplyContains) and not [k for k in node.keywords if k.strip()]:
        return [missing(step_id, f"{field}.keywords", "at least one keyword")]
    test = getattr(node, "test", None)
    if isinstance(test, p.DateTest):
        return _date_test(step_id, f"{field}.test", test)
    return []


def _date_test(step_id: str | None, field: str, test: p.DateTest) -> list[Problem]:
    if test.op in ("before", "after", "on", "between") and test.date is None:
        return [missing(step_id, f"{field}.date", f"a date for {test.op!r}")]
    if test.op == "between" and (
        test.date_to is None or test.date is None or test.date_to < test.date
    ):
        return [
            Problem(
                step_id=step_id,
                field=f"{field}.date_to",
                code="invalid",
                message="'between' needs a date_to on or after date",
            )
        ]
    if test.op in ("within_last", "not_within_last") and test.within is None:
        return [missing(step_id, f"{field}.within", "a period such as '30d'")]
    return []


def _known_zone(name: str) -> bool:
    if name == p.CONTACT_ZONE:
        return True
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
