"""A mailing batch's messages, composed: each recipient's address checked against
opt-outs, bounces and the frequency cap, merge tags rendered, exactly as a journey's send
would (activities/messaging.py), in bulk: a few statements for the whole batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from activities.compose import MessagingOptions
from activities.messaging import compose_email, render_templates
from activities.phones import stored_forms, to_e164
from activities.ports import EmailMessage, SmsMessage
from activities.suppression import capped, topic_opt_outs, topic_reason
from domain import sms as sms_text
from domain.conditions import ContactSnapshot
from domain.contracts.messaging import SendEmailRequest, SendOutcome
from domain.locales import choose, contact_locale, localize
from domain.mailing import Mailing, MailingStep, message_key
from domain.merge_tags import max_chars_for
from domain.topics import topic_or_default
from projections import mailing_recipients as recipients
from projections.projectors.engagement import bounce_list_id

Message = EmailMessage | SmsMessage


@dataclass
class Batch:
    """What happens to each recipient of the batch, filled in as it goes."""

    now: datetime
    converts_until: datetime | None = None  # when a conversion stops counting for the step
    skipped: list[dict[str, Any]] = field(default_factory=list)  # written with the first chunk
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # everything written so far
    messages: dict[str, Message] = field(default_factory=dict)  # contact_id -> message
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # sent-event payload extras
    provider_ids: dict[str, str | None] = field(default_factory=dict)  # key -> provider id
    failed: dict[str, str] = field(default_factory=dict)  # key -> why the provider refused
    duplicates: int = 0

    def skip(self, contact_id: str, reason: str, detail: str) -> None:
        self.skipped.append(
            {"contact_id": contact_id, "status": "skipped", "reason": reason, "detail": detail}
        )


def compose_emails(
    conn: Connection,
    mailing: Mailing,
    step: MailingStep,
    contact_ids: list[str],
    profiles: dict[str, ContactSnapshot],
    batch: Batch,
    options: MessagingOptions,
    default_from: str,
) -> None:
    """Each recipient's email, or the reason they get none (no address, opted out,
    bounced, over the frequency cap, a merge tag without a value)."""
    content = step.as_message_step(mailing.topic)
    topic = topic_or_default(mailing.topic)
    addressed = {c: profiles[c] for c in contact_ids if c in profiles and profiles[c].email}
    for contact_id in contact_ids:
        if contact_id not in addressed:
            batch.skip(contact_id, "no_address", "contact has no email address")
    ids = list(addressed)
    # A transactional mailing (a receipt, a notice) is not marketing: email opt-outs
    # do not stop it; a bounced address does.
    opted = set() if mailing.transactional else recipients.opted_out(conn, "email", ids)[0]
    left = set() if mailing.transactional else topic_opt_outs(conn, "email", topic, ids)
    dead = recipients.bounced(conn, ids, [bounce_list_id(p.email) for p in addressed.values()])
    over_cap = _capped(conn, mailing, "email", ids, batch, options)
    # The step's request, the same for everyone: compose_email takes the key and the
    # contact apart (building one per recipient was a twentieth of a batch).
    request = SendEmailRequest.for_step(content, "", "", "", transactional=mailing.transactional)
    for contact_id, contact in addressed.items():
        if contact_id in opted:
            batch.skip(contact_id, "unsubscribed", "contact unsubscribed from email")
            continue
        if contact_id in left:
            batch.skip(contact_id, "unsubscribed", topic_reason(topic, "email"))
            continue
        if contact_id in dead:
            batch.skip(contact_id, "suppressed", "the address bounced permanently")
            continue
        if contact_id in over_cap:
            batch.skip(
                contact_id, "frequency_cap", options.frequency_caps["email"].describe("email")
            )
            continue
        key = message_key(mailing.id, step.id, contact_id)
        tracking = {"mailing_id": mailing.id, "step_id": step.id, "contact_id": contact_id}
        message = compose_email(contact, request, key, tracking, default_from, options)
        if isinstance(message, SendOutcome):
            batch.skip(contact_id, message.reason_code or "merge_value", message.reason or "")
        else:
            batch.messages[contact_id] = message
            batch.extra[contact_id] = _details(mailing, content.locales, contact)


def compose_sms(
    conn: Connection,
    mailing: Mailing,
    step: MailingStep,
    contact_ids: list[str],
    profiles: dict[str, ContactSnapshot],
    batch: Batch,
    options: MessagingOptions,
    default_from: str,
) -> None:
    """Each recipient's SMS, or the reason they get none; an SMS STOP holds for anyone
    with that number."""
    numbers: dict[str, tuple[str, list[str]]] = {}
    for contact_id in contact_ids:
        contact = profiles.get(contact_id)
        if contact is None or not contact.phone:
            batch.skip(contact_id, "no_address", "contact has no phone number")
            continue
        e164 = to_e164(contact.phone, options.phone_default_region)
        if e164 is None:
            # Never the number itself: reasons reach reports, the API and the console.
            batch.skip(
                contact_id, "no_address", "contact's phone number is not a valid number (E.164)"
            )
            continue
        numbers[contact_id] = (e164, stored_forms(contact.phone, e164))
    forms = sorted({form for _, held in numbers.values() for form in held})
    opted, blocked = recipients.opted_out(conn, "sms", list(numbers), forms)
    topic = topic_or_default(mailing.topic)
    left = set() if mailing.transactional else topic_opt_outs(conn, "sms", topic, list(numbers))
    over_cap = _capped(conn, mailing, "sms", list(numbers), batch, options)
    limit = max_chars_for("send_sms", "text")
    content = step.as_message_step()
    for contact_id, (e164, held) in numbers.items():
        if contact_id in opted or blocked & set(held):
            batch.skip(contact_id, "unsubscribed", "contact unsubscribed from sms (replied STOP)")
            continue
        if contact_id in left:
            batch.skip(contact_id, "unsubscribed", topic_reason(topic, "sms"))
            continue
        if contact_id in over_cap:
            batch.skip(contact_id, "frequency_cap", options.frequency_caps["sms"].describe("sms"))
            continue
        # The same choice a journey's send makes (domain/locales.py).
        _, localized = localize(
            content, content.locales, contact_locale(profiles[contact_id].attributes)
        )
        rendered = render_templates(profiles[contact_id], localized.text, max_chars=limit)
        if isinstance(rendered, SendOutcome):
            batch.skip(contact_id, rendered.reason_code or "merge_value", rendered.reason or "")
            continue
        [text] = rendered
        batch.messages[contact_id] = SmsMessage(
            idempotency_key=message_key(mailing.id, step.id, contact_id),
            contact_id=contact_id,
            to=e164,
            body=text,
            sender=step.sender,
        )
        batch.extra[contact_id] = {
            "segments": sms_text.segments(text),
            "encoding": sms_text.encoding(text),
            **_details(mailing, content.locales, profiles[contact_id]),
        }


def _details(mailing: Mailing, locales: dict, contact: ContactSnapshot) -> dict[str, Any]:
    """The topic and locale variant message.sent carries, as a journey's send says them
    (activities/compose.py sent_details)."""
    details: dict[str, Any] = {}
    if not mailing.transactional:
        details["topic"] = topic_or_default(mailing.topic)
    if (locale := choose(locales, contact_locale(contact.attributes))) is not None:
        details["locale"] = locale
    return details


def _capped(
    conn: Connection,
    mailing: Mailing,
    channel: str,
    contact_ids: list[str],
    batch: Batch,
    options: MessagingOptions,
) -> set[str]:
    cap = options.frequency_caps.get(channel)
    if cap is None or mailing.transactional or not contact_ids:
        return set()
    return capped(conn, channel, contact_ids, cap, batch.now)
