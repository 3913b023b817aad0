"""Rules on what steps say: merge tags (syntax, and fields that exist), SMS length,
webhook URLs."""

from urllib.parse import urlsplit

from domain.merge_tags import MergeTagError, defaulted_fields, referenced_fields
from domain.sms import segments
from domain.steps import contact_changes as cc
from domain.steps import messaging as msg
from domain.validation.problems import Problem


def templated_fields(step) -> dict[str, str]:
    """Every setting of a step that may hold merge tags, by field name."""
    if isinstance(step, msg.SendEmail):
        return {"subject": step.subject, "body": step.body}
    if isinstance(step, msg.SendSms):
        return {"text": step.text}
    if isinstance(step, msg.NotifyTeam):
        return {"subject": step.subject, "message": step.message}
    if isinstance(step, msg.Webhook):
        return {"url": step.url, "body": step.body or "",
                **{f"headers.{k}": v for k, v in step.headers.items()}}
    if isinstance(step, msg.PhoneCall):
        return {f"script.{i}.text": a.text for i, a in enumerate(step.script) if isinstance(a, msg.Say)}
    if isinstance(step, cc.MakeNote):
        return {"text": step.text}
    if isinstance(step, cc.CreateActivity):
        return {"title": step.title, "message": step.message or ""}
    return {}


def check_content(step, known_fields: set[str] | None) -> list[Problem]:
    problems = []
    for field, template in templated_fields(step).items():
        try:
            used = referenced_fields(template)
        except MergeTagError as exc:
            problems.append(Problem(step_id=step.id, field=field, code="bad_merge_tag", message=str(exc)))
            continue
        if known_fields is not None:
            # With a default the message still reads well, so an unknown field only warns.
            defaulted = defaulted_fields(template)
            for name in sorted(used - known_fields):
                problems.append(Problem(
                    step_id=step.id, field=field, code="unknown_merge_field",
                    severity="warning" if name in defaulted else "error",
                    message=f"merge tag {{{{ {name} }}}} names a field no contact has"
                    + (" (its default will be used)" if name in defaulted else "")))
    if isinstance(step, msg.SendSms) and step.text:
        count = segments(step.text)
        if count > step.max_segments:
            problems.append(Problem(
                step_id=step.id, field="text", code="sms_too_long", severity="warning",
                message=f"the text is {count} SMS segments (more than {step.max_segments}); "
                "each segment is billed"))
    if isinstance(step, msg.Webhook) and step.url.strip():
        problems += _check_url(step)
    return problems


def _check_url(step: msg.Webhook) -> list[Problem]:
    # Merge tags may fill the path or query, but the scheme and host must be literal so
    # a contact's data can never redirect the request somewhere else.
    parts = urlsplit(step.url)
    if parts.scheme not in ("http", "https"):
        return [Problem(step_id=step.id, field="url", code="bad_url",
                        message=f"webhook URL must start with http:// or https://, not {step.url!r}")]
    if not parts.hostname or "{" in (parts.netloc or ""):
        return [Problem(step_id=step.id, field="url", code="bad_url",
                        message="webhook URL needs a literal host name")]
    return []
