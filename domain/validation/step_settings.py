"""Per-step settings rules: what each kind needs before it can be published, and
settings that contradict each other."""

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from domain.event_payloads import MAX_TAG_LENGTH
from domain.steps import Step
from domain.steps import contact_changes as cc
from domain.steps import flow_control as fc
from domain.steps import messaging as msg
from domain.validation.conditions import check_condition
from domain.validation.problems import Problem, missing

# Kinds whose only required setting is one text field: kind -> (field, what it is).
_REQUIRED_TEXT = {
    cc.AddTag: ("tag", "a tag name"),
    cc.RemoveTag: ("tag", "a tag name"),
    cc.AddProduct: ("product", "a product"),
    cc.RemoveProduct: ("product", "a product"),
    cc.AddPurchase: ("product", "a product"),
    cc.RemoveSpecialOffer: ("product", "a product"),
    cc.AddSubscription: ("plan", "a subscription plan"),
    cc.SetMembershipAccess: ("site", "a membership site"),
    cc.AddToList: ("list_id", "a list"),
    cc.RemoveFromList: ("list_id", "a list"),
    cc.Fulfillment: ("list_id", "a fulfillment list"),
    cc.MakeNote: ("text", "the note text"),
    cc.AddToLeadRouter: ("router", "a lead router"),
    cc.RunScript: ("script", "a script"),
    cc.CreateActivity: ("title", "a title"),
    msg.SendSms: ("text", "the SMS text"),
    msg.Webhook: ("url", "a URL"),
    fc.WaitForEvent: ("event", "an event type"),
    fc.StartFlow: ("flow_id", "a flow"),
    fc.StopFlow: ("flow_id", "a flow"),
    fc.PauseFlow: ("flow_id", "a flow"),
}


def check_step_settings(step: Step, flow_id: str, known_events: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    required = _REQUIRED_TEXT.get(type(step))
    if required and not (getattr(step, required[0]) or "").strip():
        problems.append(missing(step.id, *required))
    problems += _check_common(step)
    rule = _RULES.get(type(step))
    if rule:
        problems += rule(step)
    if isinstance(step, msg.NotifyTeam) and not step.to.strip():
        # Validation cannot see the deployment's settings: the send falls back to them.
        setting = "DRIPSTONE_TEAM_EMAIL" if step.channel == "email" else "DRIPSTONE_TEAM_PHONE"
        problems.append(
            Problem(
                step_id=step.id,
                field="to",
                code="team_default",
                severity="warning",
                message=f"no recipient: the team's default ({setting}) is "
                f"used; without it the step is skipped",
            )
        )
    if isinstance(step, fc.WaitForEvent) and step.event.strip() and step.event not in known_events:
        problems.append(
            Problem(
                step_id=step.id,
                field="event",
                code="unknown_event",
                message=f"unknown event type {step.event!r}",
            )
        )
    if isinstance(step, fc.StartFlow) and step.flow_id == flow_id:
        problems.append(
            Problem(
                step_id=step.id,
                field="flow_id",
                code="starts_itself",
                message="a flow cannot add the contact to itself",
            )
        )
    return problems


def _check_common(step: Step) -> list[Problem]:
    problems = []
    if step.when is not None and len(step.when.given()) > 1:
        problems.append(
            Problem(
                step_id=step.id,
                field="when",
                code="conflicting_settings",
                message="give only one of delay, at and local_at",
            )
        )
    if (
        step.when is not None
        and step.when.delay is not None
        and step.when.delay.total_seconds() <= 0
    ):
        problems.append(
            Problem(
                step_id=step.id,
                field="when.delay",
                code="not_positive",
                message="the delay must be longer than zero (omit `when` to run at once)",
            )
        )
    if step.on_false == "branch" and step.false_next is None:
        problems.append(
            missing(step.id, "false_next", "the step to go to when the condition is false")
        )
    if step.run_if is not None:
        problems += check_condition(step.id, "run_if", step.run_if)
    if step.audience is not None and step.audience.who == "matching":
        if step.audience.terms is None:
            problems.append(missing(step.id, "audience.terms", "audience terms"))
        else:
            problems += check_condition(step.id, "audience.terms", step.audience.terms)
    return problems


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _send_email(step: msg.SendEmail) -> list[Problem]:
    problems = []
    for field in ("from_email", "reply_to"):
        value = getattr(step, field)
        if value and not _EMAIL.match(value):
            problems.append(
                Problem(
                    step_id=step.id,
                    field=field,
                    code="bad_email",
                    message=f"{value!r} is not an email address",
                )
            )
    if not step.template_id:
        if not step.subject.strip():
            problems.append(missing(step.id, "subject", "an email subject"))
        if not step.body.strip():
            problems.append(missing(step.id, "body", "an email body (or a template_id)"))
    total = sum(a.size_bytes for a in step.attachments)
    if total > msg.MAX_ATTACHMENTS_BYTES:
        problems.append(
            Problem(
                step_id=step.id,
                field="attachments",
                code="attachments_too_large",
                message=f"attachments total {total / 2**20:.1f} MB; the limit is 25 MB",
            )
        )
    return problems


def _phone_call(step: msg.PhoneCall) -> list[Problem]:
    if not step.script:
        return [missing(step.id, "script", "a call script")]
    problems = []
    for i, action in enumerate(step.script):
        if isinstance(action, msg.Say) and not action.text.strip():
            problems.append(missing(step.id, f"script.{i}.text", "the text to say"))
        if isinstance(action, msg.Dial) and not action.number.strip():
            problems.append(missing(step.id, f"script.{i}.number", "a number to connect to"))
    return problems


def _notify_team(step: msg.NotifyTeam) -> list[Problem]:
    problems = [] if step.message.strip() else [missing(step.id, "message", "a message")]
    if step.channel == "email" and not step.subject.strip():
        problems.append(missing(step.id, "subject", "an email subject"))
    return problems


def _tag_problems(step_id: str, field: str, tag: str) -> list[Problem]:
    # The same limits as the contact.tag_added event, so a journey can always apply it.
    if not tag.strip():
        return [missing(step_id, field, "a tag name")]
    if len(tag) > MAX_TAG_LENGTH:
        return [
            Problem(
                step_id=step_id,
                field=field,
                code="too_long",
                message=f"tags are at most {MAX_TAG_LENGTH} characters",
            )
        ]
    return []


def _single_tag(step: cc.AddTag | cc.RemoveTag) -> list[Problem]:
    return _tag_problems(step.id, "tag", step.tag) if step.tag.strip() else []


def _change_tags(step: cc.ChangeTags) -> list[Problem]:
    if not step.add and not step.remove:
        return [missing(step.id, "add", "at least one tag to add or remove")]
    problems = [
        p
        for field in ("add", "remove")
        for i, tag in enumerate(getattr(step, field))
        for p in _tag_problems(step.id, f"{field}.{i}", tag)
    ]
    return problems + [
        Problem(
            step_id=step.id,
            field="remove",
            code="conflicting_actions",
            message=f"tag {tag!r} is both added and removed",
        )
        for tag in sorted(set(step.add) & set(step.remove))
    ]


def _set_offer(step: cc.SetSpecialOffer) -> list[Problem]:
    problems = [] if step.product.strip() else [missing(step.id, "product", "a product")]
    if (step.discount_percent is None) == (step.discount_amount is None):
        problems.append(
            Problem(
                step_id=step.id,
                field="discount_percent",
                code="offer_needs_one",
                message="give exactly one of discount_percent or discount_amount",
            )
        )
    return problems


def _update_contact(step: cc.UpdateContact) -> list[Problem]:
    if not step.changes:
        return [missing(step.id, "changes", "at least one field change")]
    problems = []
    for i, change in enumerate(step.changes):
        where = f"changes.{i}"
        if not change.field.strip():
            problems.append(missing(step.id, f"{where}.field", "a field name"))
        if change.action == "set" and change.value is None:
            problems.append(missing(step.id, f"{where}.value", "a value to set (or use 'clear')"))
        if change.action == "increment" and not isinstance(change.by, (int, float)):
            problems.append(missing(step.id, f"{where}.by", "a number to add"))
        if change.action == "shift_date" and isinstance(change.by, (int, float, type(None))):
            problems.append(missing(step.id, f"{where}.by", "a duration such as '7d'"))
    for field, count in Counter(c.field for c in step.changes if c.field).items():
        if count > 1:
            problems.append(
                Problem(
                    step_id=step.id,
                    field="changes",
                    code="conflicting_actions",
                    message=f"field {field!r} is changed {count} times in one step",
                )
            )
    return problems


def _create_activity(step: cc.CreateActivity) -> list[Problem]:
    if step.due_in is not None and step.due_at is not None:
        return [
            Problem(
                step_id=step.id,
                field="due_in",
                code="conflicting_settings",
                message="give either due_in or due_at, not both",
            )
        ]
    return []


def _wait(step: fc.Wait) -> list[Problem]:
    given = [f for f in ("delay", "until", "time_of_day") if getattr(step, f) is not None]
    if len(given) != 1:
        return [
            Problem(
                step_id=step.id,
                field="delay",
                code="wait_needs_one",
                message="give exactly one of 'delay', 'until' or 'time_of_day'",
            )
        ]
    if step.delay is not None and step.delay.total_seconds() <= 0:
        return [
            Problem(
                step_id=step.id,
                field="delay",
                code="not_positive",
                message="the delay must be longer than zero",
            )
        ]
    if step.time_of_day is not None and not step.time_of_day.weekdays:
        return [missing(step.id, "time_of_day.weekdays", "at least one allowed weekday")]
    return []


def _wait_for_event(step: fc.WaitForEvent) -> list[Problem]:
    problems = [] if step.timeout else [missing(step.id, "timeout", "a timeout")]
    if step.matching is not None:
        problems += check_condition(step.id, "matching", step.matching)
    return problems


def _branch(step: fc.Branch) -> list[Problem]:
    if step.condition is None:
        return [missing(step.id, "condition", "a condition")]
    return check_condition(step.id, "condition", step.condition)


def _multi_branch(step: fc.MultiBranch) -> list[Problem]:
    if not step.paths:
        return [missing(step.id, "paths", "at least one path")]
    problems = []
    for i, path in enumerate(step.paths):
        if path.condition is None:
            problems.append(missing(step.id, f"paths.{i}.condition", "a condition"))
        else:
            problems += check_condition(step.id, f"paths.{i}.condition", path.condition)
    return problems


def _split(step: fc.RandomSplit) -> list[Problem]:
    if len(step.paths) < 2:
        return [missing(step.id, "paths", "at least two paths")]
    total = sum(p.percent for p in step.paths)
    if abs(total - 100) > 1e-6:
        return [
            Problem(
                step_id=step.id,
                field="paths",
                code="split_not_100",
                message=f"percentages add up to {total:g}, not 100",
            )
        ]
    return []


def _goal(step: fc.Goal) -> list[Problem]:
    if step.goal is None:
        return [missing(step.id, "goal", "a goal condition")]
    return check_condition(step.id, "goal", step.goal)


# Each rule takes its own step class; the table is keyed by that class.
_RULES: dict[type, Callable[[Any], list[Problem]]] = {
    cc.AddTag: _single_tag,
    cc.RemoveTag: _single_tag,
    msg.SendEmail: _send_email,
    msg.PhoneCall: _phone_call,
    msg.NotifyTeam: _notify_team,
    cc.ChangeTags: _change_tags,
    cc.SetSpecialOffer: _set_offer,
    cc.UpdateContact: _update_contact,
    cc.CreateActivity: _create_activity,
    fc.Wait: _wait,
    fc.WaitForEvent: _wait_for_event,
    fc.Branch: _branch,
    fc.MultiBranch: _multi_branch,
    fc.RandomSplit: _split,
    fc.Goal: _goal,
}
