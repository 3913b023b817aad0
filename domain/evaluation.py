"""The one evaluator: any condition tree, every predicate, "as of" an explicit moment.

`now` is the workflow's clock (workflow.now()) passed in, never the wall clock, so a
replayed journey decides exactly as it did the first time."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from domain import predicates as p
from domain.contact_facts import ContactSnapshot, EmailTouch

_INTEGER_TEXT = re.compile(r"^[+-]?\d+$")
_NUMERIC_TEXT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def _number(value: Any) -> float | int | None:
    """A number, or text that spells one ("100", " 4.5 "); None for anything else.
    Attributes often arrive as strings from forms and CSV imports."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMERIC_TEXT.match(value.strip()):
        text = value.strip()
        # Whole numbers as int: a float would lose digits past 2**53 (ids, amounts in cents).
        return int(text) if _INTEGER_TEXT.match(text) else float(text)
    return None


def _as_numbers(actual: Any, expected: Any) -> tuple[Any, Any]:
    """For ordering: both sides as numbers when both spell one ("100" > "45" as numbers,
    not as text; "100" > 45); else as given."""
    a, b = _number(actual), _number(expected)
    return (a, b) if a is not None and b is not None else (actual, expected)


def compare(actual: Any, op: str, expected: Any) -> bool:
    """The attribute operators, shared by contact attributes and event properties.
    gt/gte/lt/lte compare as numbers whenever both sides spell one, numbers or text
    ("100" gt 45, attributes from forms and CSV imports are often text); text that does
    not spell a number never orders against a number (false, see `uncomparable`).
    eq/ne/in do not coerce: 10 is not "10", so codes keep their leading zeros."""
    if op == "is_set":
        return _is_set(actual)
    if op == "is_not_set":
        return not _is_set(actual)
    if actual is None:
        # An unset attribute satisfies only "not equal": it is certainly not the value.
        return op == "ne"
    match op:
        case "eq":
            return bool(actual == expected)
        case "ne":
            return bool(actual != expected)
        case "contains":
            return str(expected).lower() in str(actual).lower()
        case "starts_with":
            return str(actual).lower().startswith(str(expected).lower())
        case "in":
            return bool(actual in (expected or []))
    actual, expected = _as_numbers(actual, expected)
    try:
        return bool(
            {
                "gt": actual > expected,
                "gte": actual >= expected,
                "lt": actual < expected,
                "lte": actual <= expected,
            }[op]
        )
    except TypeError:
        # Ordering a number against text has no sensible answer; treat it as not matching.
        return False


def uncomparable(actual: Any, op: str, expected: Any) -> bool:
    """An ordering that `compare` answers false only because a number faces text that
    spells none (age "unknown" gt 45): worth telling whoever wrote the data."""
    if op not in ("gt", "gte", "lt", "lte") or not _is_set(actual) or expected is None:
        return False
    if isinstance(actual, bool) or isinstance(expected, bool):
        return False  # ordered as 0/1 by compare, not refused
    numbers = [_number(v) is not None for v in (actual, expected)]
    either_is_number = any(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (actual, expected)
    )
    return either_is_number and numbers.count(True) == 1


def at_path(data: Any, path: str) -> Any:
    """The value at a dot path ("json.plan", "items.0.sku"), None where it leads nowhere.
    A key that itself holds dots wins over the path (custom event properties may)."""
    if isinstance(data, dict) and path in data:
        return data[path]
    value = data
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _is_set(value: Any) -> bool:
    return value is not None and value != "" and value != []


def date_test(test: p.DateTest, value: datetime | date | None, now: datetime) -> bool:
    if test.op == "is_set":
        return value is not None
    if test.op == "is_not_set":
        return value is None
    if test.op in ("within_last", "not_within_last"):
        # Validation requires `within` for these operators.
        assert test.within is not None
        inside = isinstance(value, datetime) and now - test.within <= value <= now
        return inside if test.op == "within_last" else not inside
    if value is None:
        return False
    day = value.date() if isinstance(value, datetime) else value
    # Validation requires `date` (and `date_to` for between) for the operators below.
    assert test.date is not None
    match test.op:
        case "before":
            return day < test.date
        case "after":
            return day > test.date
        case "on":
            return day == test.date
        case "between":
            assert test.date_to is not None
            return test.date <= day <= test.date_to
    raise ValueError(f"unknown date operator {test.op!r}")


def _touched(touches: tuple[EmailTouch, ...], node: p.OpenedEmail | p.ClickedLink) -> bool:
    url = getattr(node, "url", None)  # only clicks name a link
    return any(
        (node.flow_id is None or t.flow_id == node.flow_id)
        and (node.step_id is None or t.step_id == node.step_id)
        and (url is None or t.url == url)
        for t in touches
    )


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"\w+", text.casefold())) + " "


def reply_contains(body: str | None, keywords: list[str], match: str) -> bool:
    """Whole words, case-insensitive: 'STOP' matches "stop please" but not "unstoppable"."""
    if not body:
        return False
    text = _words(body)
    hits = [_words(k) in text for k in keywords if k.strip()]
    return bool(hits) and (all(hits) if match == "all" else any(hits))


def _local_now(now: datetime, zone: str, contact: ContactSnapshot) -> datetime:
    if zone == p.CONTACT_ZONE:
        return now.astimezone(contact_zone(contact))
    return now.astimezone(ZoneInfo(zone))


def contact_zone(contact: ContactSnapshot) -> ZoneInfo:
    """The zone the loader resolved (domain.scheduling.zones.with_zone), else UTC."""
    return ZoneInfo(contact.zone or "UTC")


def _time_between(moment: time, after: time | None, before: time | None) -> bool:
    if after is not None and before is not None and after > before:  # wraps past midnight
        return moment >= after or moment < before
    return (after is None or moment >= after) and (before is None or moment < before)


def evaluate_leaf(node: Any, contact: ContactSnapshot, now: datetime) -> bool:
    match node:
        case p.HasTag():
            return node.tag in contact.tags
        case p.AttributeCompare():
            return compare(contact.field(node.field), node.op, node.value)
        case p.NotChosen():
            return True
        case p.CurrentDate():
            return date_test(node.test, _local_now(now, node.timezone, contact).date(), now)
        case p.CurrentTime():
            return _time_between(
                _local_now(now, node.timezone, contact).time(), node.after, node.before
            )
        case p.DateAdded():
            return date_test(node.test, contact.created_at, now)
        case p.LastActive():
            return date_test(node.test, contact.last_active_at, now)
        case p.LastFormSubmit():
            submits = contact.form_submits
            last = (
                submits.get(node.form_id) if node.form_id else max(submits.values(), default=None)
            )
            return date_test(node.test, last, now)
        case p.HasProduct():
            return node.product in contact.products
        case p.PurchasedProduct():
            return node.product in contact.purchased
        case p.HasSubscription():
            plans = contact.subscriptions
            if node.plan:
                return node.plan in plans and (plans[node.plan] or not node.currently)
            return any(plans.values()) if node.currently else bool(plans)
        case p.HasAccount():
            return contact.has_course_account
        case p.CourseStarted():
            return node.course in contact.courses_started | contact.courses_completed
        case p.CourseCompleted():
            return node.course in contact.courses_completed
        case p.CourseStepCompleted():
            return (node.course, node.step) in contact.course_steps
        case p.OpenedEmail():
            return _touched(contact.opens, node)
        case p.ClickedLink():
            return _touched(contact.clicks, node)
        case p.Unsubscribed():
            return node.channel in contact.unsubscribed or (
                node.topic is not None and (node.topic, node.channel) in contact.topics_left
            )
        case p.ReplyContains():
            return reply_contains(contact.last_reply, node.keywords, node.match)
        case p.InsideFunnel():
            return node.funnel in contact.funnels
        case p.VisitedPage():
            return any(
                page == node.page and (node.funnel is None or funnel == node.funnel)
                for page, funnel in contact.pages
            )
        case p.LeadEvent():
            return any(
                e.name == node.event
                and (
                    node.property is None
                    or compare(at_path(e.properties, node.property), node.op, node.value)
                )
                for e in contact.lead_events
            )
    raise TypeError(f"unknown predicate {node!r}")
