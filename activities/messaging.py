"""send_email / send_sms activities: check the address and opt-outs, render merge tags,
then deliver exactly once."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import structlog
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import ledger
from activities.compose import (
    PREFERENCES_PLACEHOLDER, AttachmentFetcher, MessagingOptions, fetch_attachments, template_data,
    unsubscribe_headers, with_footer,
)
from activities.pace import Pace
from activities.phones import stored_forms, to_e164
from activities.ports import (
    EmailMessage, EmailSender, ProviderRejected, ProviderUnavailable, SmsMessage, SmsSender,
)
from activities.suppression import (
    capped, email_suppression, sms_suppression, topic_opt_outs, topic_reason,
)
from domain import sms as sms_text
from domain.conditions import ContactSnapshot
from domain.locales import contact_locale, localize
from domain.merge_tags import DEFAULT_MAX_CHARS, MergeTagError, contact_context, max_chars_for, render
from domain.steps.messaging import Attachment, EmailVariant, SendEmail, SendSms, SmsVariant
from domain.topics import topic_or_default
from projections.contacts import load_snapshot

log = structlog.get_logger("dripstone.messaging")


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
    def for_step(cls, step: SendEmail, key: str, flow_id: str, contact_id: str, *,
                 transactional: bool = False) -> "SendEmailRequest":
        """Everything the step says about its email (pure: safe in workflow code)."""
        return cls(idempotency_key=key, flow_id=flow_id, step_id=step.id, contact_id=contact_id,
                   subject=step.subject, body=step.body, from_email=step.from_email,
                   template_id=step.template_id, reply_to=step.reply_to,
                   attachments=step.attachments, transactional=transactional, topic=step.topic,
                   locales=step.locales)


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
    def for_step(cls, step: SendSms, key: str, flow_id: str, contact_id: str, *,
                 transactional: bool = False) -> "SendSmsRequest":
        return cls(idempotency_key=key, flow_id=flow_id, step_id=step.id, contact_id=contact_id,
                   text=step.text, sender=step.sender, transactional=transactional,
                   topic=step.topic, locales=step.locales)


class SendOutcome(BaseModel):
    status: Literal["sent", "skipped", "failed"]
    reason: str | None = None
    # Machine-readable reason, so the workflow never has to parse the text. Only
    # no_address may end a journey (if_no_phone=exit); any other skip goes on.
    reason_code: Literal["no_address", "merge_value", "suppressed", "frequency_cap", "rejected",
                         "gave_up"] | None = None
    to: str | None = Field(default=None, description="Always None now: an address in a "
                           "result would sit in the journey's history. Kept so results "
                           "recorded with it still decode.")
    provider_message_id: str | None = None
    duplicate: bool = False
    segments: int | None = Field(default=None, description="SMS parts billed (GSM-7 or UCS-2).")
    encoding: str | None = None


class MessagingActivities:
    def __init__(self, engine: Engine, email: EmailSender, sms: SmsSender, default_from: str,
                 options: MessagingOptions | None = None, pace: Pace | None = None,
                 attachments: AttachmentFetcher | None = None):
        """`attachments`: downloads a send's attachments (a simulation describes them
        instead, touching no network)."""
        self.engine = engine
        self.fetch_attachments = attachments or fetch_attachments
        self.email = email
        self.sms = sms
        self.default_from = default_from
        self.options = options or MessagingOptions()
        self.pace = pace or Pace(engine, {})

    @activity.defn(name="send_email")
    def send_email(self, request: SendEmailRequest) -> SendOutcome:
        contact = self._contact(request.contact_id)
        if not contact.email:
            return SendOutcome(status="skipped", reason="contact has no email address",
                               reason_code="no_address")
        with self.engine.connect() as conn:
            suppressed = (email_suppression(conn, contact.contact_id, contact.email,
                                            transactional=request.transactional)
                          or _topic_suppression(conn, "email", contact.contact_id, request))
            over_cap = self._over_cap(conn, "email", contact.contact_id, request)
        if suppressed:
            return SendOutcome(status="skipped", reason=suppressed, reason_code="suppressed")
        if over_cap:
            return over_cap
        tracking = {"flow_id": request.flow_id, "step_id": request.step_id,
                    "journey_id": activity.info().workflow_id, "contact_id": contact.contact_id}
        message = compose_email(contact, request, request.idempotency_key, tracking,
                                self.default_from, self.options)
        if isinstance(message, SendOutcome):
            return message
        return self._deliver(self.email, "email", message, request.flow_id, request.step_id,
                             attachments=request.attachments, sent_extra=_marked(request))

    @activity.defn(name="send_sms")
    def send_sms(self, request: SendSmsRequest) -> SendOutcome:
        contact = self._contact(request.contact_id)
        if not contact.phone:
            return SendOutcome(status="skipped", reason="contact has no phone number",
                               reason_code="no_address")
        to = to_e164(contact.phone, self.options.phone_default_region)
        if to is None:
            # Same code as a missing number: the step's if_no_phone decides skip or exit.
            return SendOutcome(status="skipped", reason=f"phone number {contact.phone!r} is not "
                               "a valid number (E.164)", reason_code="no_address")
        with self.engine.connect() as conn:
            # An SMS STOP holds for every message, transactional or not.
            suppressed = (sms_suppression(conn, contact.contact_id, stored_forms(contact.phone, to))
                          or _topic_suppression(conn, "sms", contact.contact_id, request))
            over_cap = self._over_cap(conn, "sms", contact.contact_id, request)
        if suppressed:
            return SendOutcome(status="skipped", reason=suppressed, reason_code="suppressed")
        if over_cap:
            return over_cap
        _, request = localize(request, request.locales, contact_locale(contact.attributes))
        rendered = render_templates(contact, request.text, max_chars=max_chars_for("send_sms", "text"))
        if isinstance(rendered, SendOutcome):
            return rendered
        [text] = rendered
        message = SmsMessage(idempotency_key=request.idempotency_key, contact_id=contact.contact_id,
                             to=to, body=text, sender=request.sender)
        counted = {"segments": sms_text.segments(text), "encoding": sms_text.encoding(text)}
        outcome = self._deliver(self.sms, "sms", message, request.flow_id, request.step_id,
                                sent_extra={**counted, **_marked(request)})
        return outcome.model_copy(update=counted)

    def _over_cap(self, conn, channel: str, contact_id: str,
                  request: SendEmailRequest | SendSmsRequest) -> SendOutcome | None:
        """A skip when the contact had their share of the channel already; a retried
        send whose own message counts is not capped (the ledger makes it a duplicate)."""
        cap = self.options.frequency_caps.get(channel)
        if cap is None or request.transactional:
            return None
        if contact_id not in capped(conn, channel, [contact_id], cap, datetime.now(UTC),
                                    exclude_key=request.idempotency_key):
            return None
        return SendOutcome(status="skipped", reason=cap.describe(channel),
                           reason_code="frequency_cap")

    def _contact(self, contact_id: str) -> ContactSnapshot:
        with self.engine.connect() as conn:
            # Merge tags read the profile only (email, phone, attributes).
            contact = load_snapshot(conn, contact_id, {"attributes"})
        if contact is None:
            raise ApplicationError(f"contact {contact_id!r} is unknown", non_retryable=True,
                                   type="UnknownContact")
        return contact

    def _deliver(self, port: EmailSender | SmsSender, channel: str,
                 message: EmailMessage | SmsMessage, flow_id: str, step_id: str, *,
                 attachments: list[Attachment] = (), sent_extra: dict | None = None) -> SendOutcome:
        key = message.idempotency_key
        claim = ledger.claim(self.engine, key, channel, message.contact_id)
        if claim.already_sent:
            return SendOutcome(status="sent", duplicate=True,
                               provider_message_id=claim.provider_message_id)
        provider_id = None
        if claim.retry:
            known, provider_id = port.find_sent(key)
            if not known:
                ledger.count_uncertain_retry(self.engine, key)
                log.warning("send.uncertain_retry", key=key, provider=port.name)
        if provider_id is None:
            if attachments:
                # Fetched only once we know this attempt sends: never for a duplicate.
                message = replace(message, attachments=self._fetch(key, attachments))
            provider_id = self._call_provider(port, message)
        sent = ledger.sent_event(key, message.contact_id, channel, message.to, flow_id, step_id,
                                 provider_id)
        if sent_extra:
            sent = sent.model_copy(update={"payload": {**sent.payload, **sent_extra}})
        ledger.record_sent(self.engine, key, provider_id, sent)
        return SendOutcome(status="sent", provider_message_id=provider_id)

    def _fetch(self, key: str, attachments: list[Attachment]):
        try:
            return self.fetch_attachments(attachments, self.options.allow_private_targets)
        except ApplicationError as exc:
            # Nothing went out: a later attempt is a plain retry, or the step failed for good.
            record = ledger.record_failed if exc.non_retryable else ledger.record_not_sent
            record(self.engine, key, str(exc))
            raise

    def _call_provider(self, port: EmailSender | SmsSender, message: EmailMessage | SmsMessage):
        self.pace.acquire(port.name, 1, activity.heartbeat)
        try:
            return port.send(message)
        except ProviderRejected as exc:
            ledger.record_failed(self.engine, message.idempotency_key, str(exc))
            raise ApplicationError(str(exc), non_retryable=True, type="ProviderRejected") from None
        except ProviderUnavailable as exc:
            # The provider answered "not now", so nothing went out: the next attempt is
            # a plain retry, not an uncertain one.
            ledger.record_not_sent(self.engine, message.idempotency_key, str(exc))
            if exc.retry_after:
                self.pace.back_off(port.name, exc.retry_after)
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
            raise ApplicationError(str(exc), type="ProviderUnavailable",
                                   next_retry_delay=delay) from None


def _topic_suppression(conn, channel: str, contact_id: str,
                       request: SendEmailRequest | SendSmsRequest) -> str | None:
    """A marketing message of a topic the contact left on this channel is skipped."""
    topic = topic_or_default(request.topic)
    if request.transactional or not topic_opt_outs(conn, channel, topic, [contact_id]):
        return None
    return topic_reason(topic, channel)


def _marked(request: SendEmailRequest | SendSmsRequest) -> dict:
    """What message.sent says of a transactional send (frequency caps leave it out)."""
    return {"transactional": True} if request.transactional else {}


def compose_email(contact: ContactSnapshot, request: SendEmailRequest, key: str,
                  tracking: dict[str, str], default_from: str, options: MessagingOptions,
                  to: str | None = None) -> EmailMessage | SendOutcome:
    """The message for one contact, without attachments (fetched at delivery). A missing
    merge value skips it with the reason rather than sending a placeholder. With
    preference links, a marketing email carries its contact's preference page (a footer,
    and {{ preferences_url }}) and a one-click unsubscribe from its topic. The content is the variant for the
    contact's locale, if the step has one (domain/locales.py)."""
    _, request = localize(request, request.locales, contact_locale(contact.attributes))
    context = _context(contact)
    links, marketing = options.links, not request.transactional
    if links is not None:
        context["preferences_url"] = links.page_url(contact.contact_id)
    one_click = (links.unsubscribe_url(contact.contact_id, topic_or_default(request.topic))
                 if links is not None and marketing else None)
    try:
        subject = render(request.subject, context,
                         max_chars=max_chars_for("send_email", "subject")) if request.subject else ""
        body = render(request.body, context,
                      max_chars=max_chars_for("send_email", "body")) if request.body else ""
        headers = unsubscribe_headers(options, {**context, "message_key": key}, one_click)
    except MergeTagError as exc:
        return SendOutcome(status="skipped", reason=str(exc), reason_code="merge_value")
    if links is not None and marketing and not request.template_id:
        body = with_footer(body, context["preferences_url"])
    return EmailMessage(
        idempotency_key=key, contact_id=contact.contact_id, to=to or contact.email,
        from_email=request.from_email or default_from, subject=subject, body=body,
        tracking=tracking, template_id=request.template_id,
        template_data=template_data(context, subject) if request.template_id else {},
        headers=headers, reply_to=request.reply_to,
        substitutions={PREFERENCES_PLACEHOLDER: context["preferences_url"]}
        if links is not None and not request.template_id else {},
    )


def _context(contact: ContactSnapshot) -> dict:
    return contact_context(contact.contact_id, contact.email, contact.phone, contact.attributes)


def render_templates(contact: ContactSnapshot, *templates: str,
                     max_chars: int = DEFAULT_MAX_CHARS) -> list[str] | SendOutcome:
    """Render every template or none, each to at most `max_chars` (see
    merge_tags.max_chars_for): a missing merge value, or too much text, skips the whole
    message (with the reason) rather than sending a placeholder."""
    try:
        return [render(template, _context(contact), max_chars=max_chars) for template in templates]
    except MergeTagError as exc:
        return SendOutcome(status="skipped", reason=str(exc), reason_code="merge_value")
