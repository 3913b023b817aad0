"""Rules on what steps say: merge tags (syntax, fields that exist, nothing the sandbox
would refuse, no more text than the field sends), SMS length, where webhooks and
attachment downloads may go, and locale variants (tags, and each variant's text held to
the same rules, named `locales.<tag>.<field>`)."""

from collections.abc import Mapping

from pydantic import BaseModel

from domain.locales import canonical, tag_problem
from domain.merge_tags import (
    MergeTagError,
    check_template,
    defaulted_fields,
    max_chars_for,
    referenced_fields,
)
from domain.sms import segments
from domain.steps import Step
from domain.steps import contact_changes as cc
from domain.steps import messaging as msg
from domain.targets import url_problem
from domain.validation.problems import Problem


def templated_fields(step: Step) -> dict[str, str]:
    """Every setting of a step that may hold merge tags, by field name."""
    if isinstance(step, msg.SendEmail):
        return {"subject": step.subject, "body": step.body}
    if isinstance(step, msg.SendSms):
        return {"text": step.text}
    if isinstance(step, msg.NotifyTeam):
        # `to` is rendered too (activities/team_notify.py), so it is held to the same rules.
        return {"to": step.to, "subject": step.subject, "message": step.message}
    if isinstance(step, msg.Webhook):
        return {
            "url": step.url,
            "body": step.body or "",
            **{f"headers.{k}": v for k, v in step.headers.items()},
        }
    if isinstance(step, msg.PhoneCall):
        return {
            f"script.{i}.text": a.text for i, a in enumerate(step.script) if isinstance(a, msg.Say)
        }
    if isinstance(step, cc.MakeNote):
        return {"text": step.text}
    if isinstance(step, cc.CreateActivity):
        return {"title": step.title, "message": step.message or ""}
    return {}


def localized_fields(step: Step) -> dict[str, tuple[str, str]]:
    """Every templated setting of every locale variant of a step:
    `locales.<tag>.<field>` -> (the default's field name it stands for, template)."""
    found = {}
    for tag, variant in (getattr(step, "locales", None) or {}).items():
        for field, template in _variant_fields(variant).items():
            found[f"locales.{tag}.{field}"] = (field, template)
    return found


def _variant_fields(variant: BaseModel) -> dict[str, str]:
    fields = {
        name: value
        for name in ("subject", "body", "text")
        if isinstance(value := getattr(variant, name, None), str)
    }
    for i, action in enumerate(getattr(variant, "script", None) or []):
        if isinstance(action, msg.Say):
            fields[f"script.{i}.text"] = action.text
    return fields


def check_locales(step_id: str, locales: Mapping[str, BaseModel], where: str = "") -> list[Problem]:
    """Every variant's tag must be a language tag, and name a locale no other key names
    (`pt_BR` and `pt-br` are one locale); a variant must say something."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for tag, variant in locales.items():
        field = f"{where}locales.{tag}"
        if (why := tag_problem(tag)) is not None:
            problems.append(
                Problem(step_id=step_id, field=field, code="invalid_locale", message=why)
            )
            continue
        spelled = (canonical(tag) or tag).lower()  # tag_problem said it is a tag
        if spelled in seen:
            problems.append(
                Problem(
                    step_id=step_id,
                    field=field,
                    code="duplicate_locale",
                    message=(f"{tag!r} and {seen[spelled]!r} name the same locale; keep one"),
                )
            )
        seen.setdefault(spelled, tag)
        if all(getattr(variant, name) is None for name in type(variant).model_fields):
            problems.append(
                Problem(
                    step_id=step_id,
                    field=field,
                    code="empty_locale",
                    severity="warning",
                    message=("the variant gives no content: the default is sent"),
                )
            )
        for i, action in enumerate(getattr(variant, "script", None) or []):
            if isinstance(action, msg.Say) and not action.text.strip():
                problems.append(
                    Problem(
                        step_id=step_id,
                        field=f"{field}.script.{i}.text",
                        code="missing_setting",
                        message="the text to say is required",
                    )
                )
    return problems


def check_content(
    step: Step, known_fields: set[str] | None, allow_private_targets: bool = False
) -> list[Problem]:
    problems = check_locales(step.id, getattr(step, "locales", None) or {})
    # A variant's text stands for the default's field and is held to its rules.
    checked = {field: (field, template) for field, template in templated_fields(step).items()}
    checked.update(localized_fields(step))
    for field, (base, template) in checked.items():
        try:
            # What the worker would refuse whatever the contact: refused now, not when
            # the step runs (where it would only skip the step).
            issues = check_template(template, _max_chars(step, base))
            used = referenced_fields(template) if not issues else set()
        except MergeTagError as exc:
            problems.append(
                Problem(step_id=step.id, field=field, code="bad_merge_tag", message=str(exc))
            )
            continue
        problems += [
            Problem(step_id=step.id, field=field, code=issue.code, message=issue.message)
            for issue in issues
        ]
        if known_fields is not None:
            # With a default the message still reads well, so an unknown field only warns.
            defaulted = defaulted_fields(template)
            for name in sorted(used - known_fields):
                problems.append(
                    Problem(
                        step_id=step.id,
                        field=field,
                        code="unknown_merge_field",
                        severity="warning" if name in defaulted else "error",
                        message=f"merge tag {{{{ {name} }}}} names a field no contact has"
                        + (" (its default will be used)" if name in defaulted else ""),
                    )
                )
    if isinstance(step, msg.SendSms):
        texts = {
            "text": step.text,
            **{f: t for f, (base, t) in localized_fields(step).items() if base == "text"},
        }
        for field, text in texts.items():
            count = segments(text) if text else 0
            if count > step.max_segments:
                problems.append(
                    Problem(
                        step_id=step.id,
                        field=field,
                        code="sms_too_long",
                        severity="warning",
                        message=f"the text is {count} SMS segments (more than {step.max_segments}); "
                        "each segment is billed",
                    )
                )
    if isinstance(step, msg.Webhook) and step.url.strip():
        problems += _check_url(step.id, "url", step.url, "webhook URL", allow_private_targets)
    if isinstance(step, msg.SendEmail):
        for i, attachment in enumerate(step.attachments):
            problems += _check_url(
                step.id,
                f"attachments.{i}.url",
                attachment.url,
                f"attachment {attachment.filename!r} URL",
                allow_private_targets,
            )
    return problems


def _max_chars(step: Step, field: str) -> int:
    return max_chars_for(step.kind, field, getattr(step, "channel", None))


def _check_url(step_id: str, field: str, url: str, what: str, allow_private: bool) -> list[Problem]:
    # The same address rules the worker's guard applies to every address a host resolves
    # to (activities/webhook_targets.py); here, without DNS, to literal hosts.
    found = url_problem(url, what, allow_private=allow_private)
    if found is None:
        return []
    code, message = found
    return [Problem(step_id=step_id, field=field, code=code, message=message)]
