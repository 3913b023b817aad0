"""send_email / send_sms: what the journey asks (everything the step says about its
message) and what it is told back."""

from typing import Literal

from pydantic import BaseModel, Field

from domain.steps.messaging import Attachment, EmailVariant, SendEmail, SendSms, SmsVariant


class SendEmailRequest(BaseModel):
    idempotency_key: str
    flow_id: str
    step_id: str
    contact_id: str
    subject: str
    body: str
    from_email: str | None = None
    # Added after the first histories: defaults keep old inputs decoding.
    template_id: str | None = None
    reply_to: str | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    transactional: bool = False  # exempt from frequency caps and marketing opt-outs
    topic: str | None = None  # the subscription topic; None: the default topic
    # The step's locale variants: the activity chooses one by the contact's locale, read
    # when it composes (the workflow never sees the contact's attributes).
    locales: dict[str, EmailVariant] = Field(default_factory=dict)

    @classmethod
    def for_step(
        cls,
        step: SendEmail,
        key: str,
        flow_id: str,
        contact_id: str,
        *,
        transactional: bool = False,
    ) -> "SendEmailRequest":
        """Everything the step says about its email (pure: safe in workflow code)."""
        return cls(
            idempotency_key=key,
            flow_id=flow_id,
            step_id=step.id,
            contact_id=contact_id,
            subject=step.subject,
            body=step.body,
            from_email=step.from_email,
            template_id=step.template_id,
            reply_to=step.reply_to,
            attachments=step.attachments,
            transactional=transactional,
            topic=step.topic,
            locales=step.locales,
        )


class SendSmsRequest(BaseModel):
    idempotency_key: str
    flow_id: str
    step_id: str
    contact_id: str
    text: str
    sender: str | None = None
    transactional: bool = False  # exempt from frequency caps and marketing opt-outs
    topic: str | None = None  # the subscription topic; None: the default topic
    locales: dict[str, SmsVariant] = Field(default_factory=dict)  # as SendEmailRequest's

    @classmethod
    def for_step(
        cls, step: SendSms, key: str, flow_id: str, contact_id: str, *, transactional: bool = False
    ) -> "SendSmsRequest":
        return cls(
            idempotency_key=key,
            flow_id=flow_id,
            step_id=step.id,
            contact_id=contact_id,
            text=step.text,
            sender=step.sender,
            transactional=transactional,
            topic=step.topic,
            locales=step.locales,
        )


class SendOutcome(BaseModel):
    status: Literal["sent", "skipped", "failed"]
    reason: str | None = None
    # Machine-readable reason, so the workflow never has to parse the text. Only
    # no_address may end a journey (if_no_phone=exit); any other skip goes on.
    reason_code: (
        Literal[
            "no_address",
            "merge_value",
            "suppressed",
            "unsubscribed_topic",
            "frequency_cap",
            "rejected",
            "gave_up",
        ]
        | None
    ) = None
    to: str | None = Field(
        default=None,
        description="Always None now: an address in a "
        "result would sit in the journey's history. Kept so results "
        "recorded with it still decode.",
    )
    provider_message_id: str | None = None
    duplicate: bool = False
    segments: int | None = Field(default=None, description="SMS parts billed (GSM-7 or UCS-2).")
    encoding: str | None = None
