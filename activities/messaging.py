"""send_email / send_sms activities: render merge tags, then deliver exactly once."""

from datetime import timedelta
from typing import Literal

import structlog
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import ledger
from activities.ports import (
    EmailMessage, EmailSender, ProviderRejected, ProviderUnavailable, SmsMessage, SmsSender,
)
from domain.conditions import ContactSnapshot
from domain.merge_tags import MergeTagError, contact_context, render
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


class SendSmsRequest(BaseModel):
    idempotency_key: str
    flow_id: str
    step_id: str
    contact_id: str
    text: str
    sender: str | None = None


class SendOutcome(BaseModel):
    status: Literal["sent", "skipped", "failed"]
    reason: str | None = None
    # Machine-readable reason, so the workflow never has to parse the text.
    reason_code: Literal["no_address", "merge_value", "rejected", "gave_up"] | None = None
    to: str | None = None
    provider_message_id: str | None = None
    duplicate: bool = False


class MessagingActivities:
    def __init__(self, engine: Engine, email: EmailSender, sms: SmsSender, default_from: str):
        self.engine = engine
        self.email = email
        self.sms = sms
        self.default_from = default_from

    @activity.defn(name="send_email")
    def send_email(self, request: SendEmailRequest) -> SendOutcome:
        contact = self._contact(request.contact_id)
        if not contact.email:
            return SendOutcome(status="skipped", reason="contact has no email address",
                               reason_code="no_address")
        rendered = _render(contact, request.subject, request.body)
        if isinstance(rendered, SendOutcome):
            return rendered
        subject, body = rendered
        message = EmailMessage(
            idempotency_key=request.idempotency_key, contact_id=contact.contact_id, to=contact.email,
            from_email=request.from_email or self.default_from, subject=subject, body=body,
            tracking={"flow_id": request.flow_id, "step_id": request.step_id,
                      "journey_id": activity.info().workflow_id},
        )
        return self._deliver(self.email, "email", message, request.flow_id, request.step_id)

    @activity.defn(name="send_sms")
    def send_sms(self, request: SendSmsRequest) -> SendOutcome:
        contact = self._contact(request.contact_id)
        if not contact.phone:
            return SendOutcome(status="skipped", reason="contact has no phone number",
                               reason_code="no_address")
        rendered = _render(contact, request.text)
        if isinstance(rendered, SendOutcome):
            return rendered
        [text] = rendered
        message = SmsMessage(idempotency_key=request.idempotency_key, contact_id=contact.contact_id,
                             to=contact.phone, body=text, sender=request.sender)
        return self._deliver(self.sms, "sms", message, request.flow_id, request.step_id)

    def _contact(self, contact_id: str) -> ContactSnapshot:
        with self.engine.connect() as conn:
            # Merge tags read the profile only (email, phone, attributes).
            contact = load_snapshot(conn, contact_id, {"attributes"})
        if contact is None:
            raise ApplicationError(f"contact {contact_id!r} is unknown", non_retryable=True,
                                   type="UnknownContact")
        return contact

    def _deliver(self, port: EmailSender | SmsSender, channel: str,
                 message: EmailMessage | SmsMessage, flow_id: str, step_id: str) -> SendOutcome:
        key = message.idempotency_key
        claim = ledger.claim(self.engine, key, channel, message.contact_id)
        if claim.already_sent:
            return SendOutcome(status="sent", to=message.to, duplicate=True,
                               provider_message_id=claim.provider_message_id)
        provider_id = None
        if claim.retry:
            known, provider_id = port.find_sent(key)
            if not known:
                ledger.count_uncertain_retry(self.engine, key)
                log.warning("send.uncertain_retry", key=key, provider=port.name)
        if provider_id is None:
            provider_id = self._call_provider(port, message)
        ledger.record_sent(self.engine, key, provider_id, ledger.sent_event(
            key, message.contact_id, channel, message.to, flow_id, step_id, provider_id))
        return SendOutcome(status="sent", to=message.to, provider_message_id=provider_id)

    def _call_provider(self, port: EmailSender | SmsSender, message: EmailMessage | SmsMessage):
        try:
            return port.send(message)
        except ProviderRejected as exc:
            ledger.record_failed(self.engine, message.idempotency_key, str(exc))
            raise ApplicationError(str(exc), non_retryable=True, type="ProviderRejected") from None
        except ProviderUnavailable as exc:
            # The provider answered "not now", so nothing went out: the next attempt is
            # a plain retry, not an uncertain one.
            ledger.record_not_sent(self.engine, message.idempotency_key, str(exc))
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
            raise ApplicationError(str(exc), type="ProviderUnavailable",
                                   next_retry_delay=delay) from None


def _render(contact: ContactSnapshot, *templates: str) -> list[str] | SendOutcome:
    """Render every template or none: a missing merge value skips the whole message
    (with the reason) rather than sending a placeholder."""
    context = contact_context(contact.contact_id, contact.email, contact.phone, contact.attributes)
    try:
        return [render(template, context) for template in templates]
    except MergeTagError as exc:
        return SendOutcome(status="skipped", reason=str(exc), reason_code="merge_value")
