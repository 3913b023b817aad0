"""Messaging steps: email, SMS, phone call, team notifications and webhooks [000-002]."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from domain.locales import MAX_LOCALES
from domain.steps.base import Model, StepBase

MAX_ATTACHMENTS_BYTES = 25 * 1024 * 1024


class MessageStep(StepBase):
    """A step that renders merge tags. A tag with no value and no default never goes out
    as its raw placeholder [000]: the step is skipped and the journey goes on, or the
    journey stops with the reason."""

    on_missing_value: Literal["skip", "fail"] = Field(
        default="skip",
        description="A merge tag with no value and no default: skip this "
        "step (the journey goes on) or fail (the journey exits, naming the missing value).",
    )


class Attachment(Model):
    filename: str
    url: str = Field(description="Where the worker fetches the file from when sending.")
    size_bytes: int = Field(ge=0)
    content_type: str = "application/octet-stream"


class EmailVariant(Model):
    """An email's content in one language; a field left out is the default's."""

    subject: str | None = None
    body: str | None = None
    template_id: str | None = None


class SmsVariant(Model):
    text: str | None = None


def _locales_field(what: str) -> Any:
    return Field(
        default_factory=dict,
        max_length=MAX_LOCALES,
        description=(
            f"{what} per language tag (`pt-BR`, `pt`); the contact's `locale` attribute "
            "chooses, falling back from `pt-BR` to `pt` to the step's own content."
        ),
    )


class SendEmail(MessageStep):
    """Inline content (subject + body with merge tags), or an existing template by id."""

    kind: Literal["send_email"] = "send_email"
    template_id: str | None = None
    subject: str = ""
    body: str = ""
    from_email: str | None = None
    connection: str | None = Field(
        default=None, description="Sender connection (SMTP/API account)."
    )
    reply_to: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    topic: str | None = Field(
        default=None,
        description="The subscription topic (DRIPSTONE_SUBSCRIPTION_TOPICS) "
        "this message belongs to; a contact who opted out of it on this channel is skipped "
        "(unless the flow is transactional). None: the default topic, `general`.",
    )
    locales: dict[str, EmailVariant] = _locales_field("Subject, body or template")


class SendSms(MessageStep):
    kind: Literal["send_sms"] = "send_sms"
    text: str = ""
    sender: str | None = None
    if_no_phone: Literal["skip", "exit"] = "skip"
    max_segments: int = Field(
        default=3, ge=1, description="More segments than this is warned about."
    )
    topic: str | None = Field(
        default=None,
        description="The subscription topic (DRIPSTONE_SUBSCRIPTION_TOPICS) "
        "this message belongs to; a contact who opted out of it on this channel is skipped "
        "(unless the flow is transactional). None: the default topic, `general`.",
    )
    locales: dict[str, SmsVariant] = _locales_field("The text")


class Say(Model):
    action: Literal["say"] = "say"
    text: str = ""
    voice: str | None = None


class Dial(Model):
    action: Literal["dial"] = "dial"
    number: str = ""


class Pause(Model):
    action: Literal["pause"] = "pause"
    seconds: int = Field(default=1, ge=1, le=600)


class Hangup(Model):
    action: Literal["hangup"] = "hangup"


class Record(Model):
    action: Literal["record"] = "record"
    max_seconds: int = Field(default=120, ge=1, le=3600)


CallAction = Annotated[Say | Dial | Pause | Hangup | Record, Field(discriminator="action")]


class CallVariant(Model):
    script: list[CallAction] | None = None


class PhoneCall(MessageStep):
    kind: Literal["phone_call"] = "phone_call"
    from_number: str | None = None
    record: bool = False
    script: list[CallAction] = Field(default_factory=list)
    locales: dict[str, CallVariant] = _locales_field("The call script")


class NotifyTeam(MessageStep):
    """Tell a team member (not the contact) about this contact, by email or SMS."""

    kind: Literal["notify_team"] = "notify_team"
    channel: Literal["email", "sms"] = "email"
    to: str = ""
    subject: str = ""
    message: str = ""


class Webhook(MessageStep):
    kind: Literal["webhook"] = "webhook"
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(default=None, description="Body template; merge tags allowed.")
    timeout_seconds: float = Field(default=10, gt=0, le=120)


MESSAGING_STEPS = (SendEmail, SendSms, PhoneCall, NotifyTeam, Webhook)
