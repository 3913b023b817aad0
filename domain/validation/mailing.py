"""Mailing validation: every problem a send must refuse, each naming its field as a path
into the document (`steps.1.terms`, `audience.condition.value`), the same Problem records
flows use, so editors, the API and the CLI show both alike."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from domain.mailing import ENGAGEMENT_TERMS, Mailing, MailingStep
from domain.merge_tags import CONTACT_FIELDS
from domain.payload_schemas import PAYLOAD_SCHEMAS
from domain.topics import LINK_FIELDS
from domain.validation.conditions import check_condition
from domain.validation.content import check_content
from domain.validation.links import check_links
from domain.validation.problems import Problem, missing, step_id_at
from domain.validation.topics import check_topic


def parse_mailing(
    document: Any,
    known_fields: set[str] | None = None,
    *,
    allow_private_targets: bool = False,
    known_topics: frozenset[str] | None = None,
    preference_links: bool | None = None,
) -> tuple[Mailing | None, list[Problem]]:
    """A raw document as a Mailing, or the problems that name what is wrong in it."""
    if not isinstance(document, dict):
        return None, [
            Problem(
                step_id=None,
                field="document",
                code="invalid",
                message="a mailing is an object (mapping)",
            )
        ]
    try:
        mailing = Mailing.model_validate(document)
    except ValidationError as exc:
        return None, [_from_pydantic(document, e) for e in exc.errors()]
    return mailing, validate_mailing(
        mailing,
        known_fields,
        allow_private_targets=allow_private_targets,
        known_topics=known_topics,
        preference_links=preference_links,
    )


def validate_mailing(
    mailing: Mailing,
    known_fields: set[str] | None = None,
    *,
    allow_private_targets: bool = False,
    known_topics: frozenset[str] | None = None,
    preference_links: bool | None = None,
) -> list[Problem]:
    """`known_topics`: the deployment's subscription topics; when given, a `topic`
    naming another is an error. `preference_links`: as for flows (validate_flow)."""
    fields = None if known_fields is None else set(known_fields) | CONTACT_FIELDS | LINK_FIELDS
    problems = check_topic(None, "topic", mailing.topic, known_topics)
    audience = mailing.audience
    if audience.condition is not None and audience.contacts is not None:
        problems.append(
            Problem(
                step_id=None,
                field="audience",
                code="invalid",
                message=("give either a condition or a list of contacts, not both"),
            )
        )
    if audience.condition is not None:
        problems += check_condition(None, "audience.condition", audience.condition)
    seen: set[str] = set()
    for index, step in enumerate(mailing.steps):
        where = f"steps.{index}"
        if step.id in seen:
            problems.append(
                Problem(
                    step_id=step.id,
                    field=f"{where}.id",
                    code="duplicate_step",
                    message=f"step id {step.id!r} is used twice",
                )
            )
        seen.add(step.id)
        previous = mailing.steps[index - 1] if index else None
        problems += _check_step(step, previous, where, fields, allow_private_targets)
        problems += check_links(step.as_message_step(), preference_links, f"{where}.")
    return problems


def unknown_contacts_warning(unknown: list[str], shown: int = 10) -> list[Problem]:
    """A warning, not a refusal: a contact may be created after the mailing is saved
    (their first event), and the send skips whoever is still unknown then."""
    if not unknown:
        return []
    more = f" and {len(unknown) - shown} more" if len(unknown) > shown else ""
    return [
        Problem(
            step_id=None,
            field="audience.contacts",
            code="unknown_contact",
            severity="warning",
            message=f"no contact is known with id(s) "
            f"{', '.join(repr(c) for c in unknown[:shown])}{more}: they are skipped "
            "unless they exist when the mailing sends",
        )
    ]


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _check_step(
    step: MailingStep,
    previous: MailingStep | None,
    where: str,
    fields: set[str] | None,
    allow_private_targets: bool,
) -> list[Problem]:
    problems = []
    if step.channel == "email" and not step.template_id:
        for name in ("subject", "body"):
            if not getattr(step, name).strip():
                problems.append(
                    Problem(
                        step_id=step.id,
                        field=f"{where}.{name}",
                        code="missing_setting",
                        message=f"an email needs a {name} (or a template_id)",
                    )
                )
    if step.channel == "sms" and not step.text.strip():
        problems.append(missing(step.id, f"{where}.text", "the text of an SMS"))
    problems += _check_other_channel_fields(step, where)
    problems += _check_variant_channel(step, where)
    for problem in check_content(step.as_message_step(), fields, allow_private_targets):
        problems.append(problem.model_copy(update={"field": f"{where}.{problem.field}"}))
    if step.when is not None:
        given = step.when.given()
        if len(given) != 1:
            problems.append(
                Problem(
                    step_id=step.id,
                    field=f"{where}.when",
                    code="invalid",
                    message="give one of delay, at, local_at"
                    + (f" (not {given})" if given else ""),
                )
            )
        problems += _check_time(step, where)
        if previous is None and step.when.delay is not None:
            problems.append(
                Problem(
                    step_id=step.id,
                    field=f"{where}.when.delay",
                    code="invalid",
                    message="the main step is sent now, `at` or `local_at`; "
                    "a delay needs a previous step to count from",
                )
            )
    if previous is None and (step.to != "previous" or step.terms):
        problems.append(
            Problem(
                step_id=step.id,
                field=f"{where}.to",
                code="invalid",
                message=(
                    "the main step goes to the mailing's audience; `to` and `terms` are for later steps"
                ),
            )
        )
    if step.to == "terms" and not step.terms and step.condition is None:
        problems.append(
            missing(step.id, f"{where}.terms", "`to: terms` needs at least one term or a condition")
        )
    if step.terms and step.to != "terms":
        problems.append(
            Problem(
                step_id=step.id,
                field=f"{where}.to",
                code="invalid",
                message="terms are given: set `to: terms`",
            )
        )
    engagement = sorted(set(step.terms) & ENGAGEMENT_TERMS)
    if previous is not None and engagement and previous.channel != "email":
        problems.append(
            Problem(
                step_id=step.id,
                field=f"{where}.terms",
                code="invalid",
                message=(
                    f"{', '.join(engagement)} read the previous step's email, but step "
                    f"{previous.id!r} sends {previous.channel}"
                ),
            )
        )
    contradictory = [
        pair
        for pair in (
            ("opened", "not_opened"),
            ("clicked", "not_clicked"),
            ("unsubscribed_email", "subscribed_email"),
        )
        if set(pair) <= set(step.terms)
    ]
    for pair in contradictory:
        problems.append(
            Problem(
                step_id=step.id,
                field=f"{where}.terms",
                code="invalid",
                message=f"{pair[0]} and {pair[1]} cannot both hold",
            )
        )
    if step.condition is not None:
        problems += check_condition(step.id, f"{where}.condition", step.condition)
    if step.conversion is not None and step.conversion.within > LONGEST_DELAY:
        problems.append(
            Problem(
                step_id=step.id,
                field=f"{where}.conversion.within",
                code="invalid",
                message="must be at most 10 years",
            )
        )
    if step.conversion is not None and step.conversion.event not in PAYLOAD_SCHEMAS:
        problems.append(
            Problem(
                step_id=step.id,
                field=f"{where}.conversion.event",
                code="unknown_event",
                message=f"unknown event type {step.conversion.event!r}",
            )
        )
    return problems


_CHANNEL_FIELDS = {"email": ("subject", "body", "template_id"), "sms": ("text",)}
# A step's own fields that only one channel reads (as_message_step drops the others).
_STEP_CHANNEL_FIELDS = {
    "email": ("subject", "body", "template_id", "from_email", "reply_to"),
    "sms": ("text", "sender"),
}


def _check_other_channel_fields(step: MailingStep, where: str) -> list[Problem]:
    # Given for the other channel, they would be dropped without a word: refuse them.
    return [
        Problem(
            step_id=step.id,
            field=f"{where}.{name}",
            code="invalid",
            message=f"an {step.channel} step does not use {name} (it takes "
            f"{', '.join(_STEP_CHANNEL_FIELDS[step.channel])})",
        )
        for other, names in _STEP_CHANNEL_FIELDS.items()
        if other != step.channel
        for name in names
        if getattr(step, name) not in (None, "")
    ]


def _check_variant_channel(step: MailingStep, where: str) -> list[Problem]:
    # as_message_step keeps only the channel's own fields: say so rather than drop text.
    problems = []
    for tag, variant in step.locales.items():
        for name in sorted(set(type(variant).model_fields) - set(_CHANNEL_FIELDS[step.channel])):
            if getattr(variant, name) is not None:
                problems.append(
                    Problem(
                        step_id=step.id,
                        field=f"{where}.locales.{tag}.{name}",
                        code="invalid",
                        message=f"an {step.channel} step's variant takes "
                        f"{', '.join(_CHANNEL_FIELDS[step.channel])}, not {name}",
                    )
                )
    return problems


# Bounds that keep a workflow's date arithmetic far from datetime's own limits.
EARLIEST_YEAR, LATEST_YEAR, LONGEST_DELAY = 2000, 2199, timedelta(days=3660)


def _check_time(step: MailingStep, where: str) -> list[Problem]:
    when, problems = step.when, list[Problem]()
    if when is None:
        return problems
    for name in ("at", "local_at"):
        moment = getattr(when, name)
        if moment is not None and not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
            problems.append(
                Problem(
                    step_id=step.id,
                    field=f"{where}.when.{name}",
                    code="invalid",
                    message=f"must be between {EARLIEST_YEAR} and {LATEST_YEAR}",
                )
            )
    if when.delay is not None and when.delay > LONGEST_DELAY:
        problems.append(
            Problem(
                step_id=step.id,
                field=f"{where}.when.delay",
                code="invalid",
                message="must be at most 10 years",
            )
        )
    return problems


def _from_pydantic(document: dict[str, Any], error: Any) -> Problem:
    loc = list(error["loc"])
    return Problem(
        step_id=step_id_at(document, loc),
        field=".".join(str(p) for p in loc) or "document",
        code="invalid",
        message=error["msg"],
    )
