"""One batch of a mailing step, delivered exactly once: check addresses and opt-outs,
render, claim the ledger keys, hand the messages to the channel's port, and write the
ledger, the message.sent events and the recipient rows back in one transaction.

The same checks and the same ledger as a journey's send (activities/messaging.py), in
bulk: a batch of 1,000 costs a handful of statements instead of several thousand, which
is what lets a mailing reach a segment at the database's pace. Retried after a crash,
the ledger says which keys went out (sent, kept) and which were in flight (asked of the
provider first, as a journey's retry does)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError

from activities import ledger
from activities.compose import MessagingOptions
from activities.messaging import SendEmailRequest, SendOutcome, compose_email, render_templates
from activities.phones import stored_forms, to_e164
from activities.ports import (
    EmailMessage, EmailSender, ProviderRejected, ProviderUnavailable, SmsMessage, SmsSender,
)
from activities.suppression import capped
from domain import sms as sms_text
from domain.conditions import ContactSnapshot
from domain.mailing import Mailing, MailingStep, message_key
from domain.mailing_runs import SendBatchResult
from domain.merge_tags import max_chars_for
from projections import mailing_recipients as recipients
from projections.contacts import load_profiles
from projections.dispatch_bell import BELL
from projections.event_store import append
from projections.live_flows import LiveFlows
from projections.projectors.engagement import bounce_list_id
from projections.reachable import routable
from projections.schema import message_ledger

log = structlog.get_logger("dripstone.mailings")
Message = EmailMessage | SmsMessage
# Messages per recorded chunk for providers called one message at a time (SendGrid,
# Twilio): what a crash can leave unrecorded, to be asked of the provider on retry.
CHUNK = 20


@dataclass
class Batch:
    """What happens to each recipient of the batch, filled in as it goes."""

    now: datetime
    skipped: list[dict[str, Any]] = field(default_factory=list)  # written with the first chunk
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # everything written so far
    messages: dict[str, Message] = field(default_factory=dict)  # contact_id -> message
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)  # sent-event payload extras
    provider_ids: dict[str, str | None] = field(default_factory=dict)  # key -> provider id
    failed: dict[str, str] = field(default_factory=dict)  # key -> why the provider refused
    duplicates: int = 0

    def skip(self, contact_id: str, reason: str, detail: str) -> None:
        self.skipped.append({"contact_id": contact_id, "status": "skipped", "reason": reason,
                             "detail": detail})


class MailingDelivery:
    def __init__(self, engine: Engine, email: EmailSender, sms: SmsSender, default_from: str,
                 options: MessagingOptions | None = None):
        self.engine, self.email, self.sms = engine, email, sms
        self.default_from = default_from
        self.options = options or MessagingOptions()
        self.flows = LiveFlows(engine)

    def deliver(self, mailing: Mailing, step: MailingStep, contact_ids: list[str], *,
                heartbeat: Callable[..., None] = lambda *details: None) -> SendBatchResult:
        """Sends in chunks, each recorded (ledger, events, recipient rows) as soon as the
        provider took it, then a heartbeat: a crash loses at most one chunk's record,
        and those keys, still pending in the ledger, are asked of the provider on retry."""
        batch = Batch(now=datetime.now(UTC))
        with self.engine.connect() as conn:
            profiles = load_profiles(conn, contact_ids)
            if step.channel == "email":
                self._compose_emails(conn, mailing, step, contact_ids, profiles, batch)
            else:
                self._compose_sms(conn, mailing, step, contact_ids, profiles, batch)
        port = self.email if step.channel == "email" else self.sms
        to_send = self._claim(port, step.channel, batch)
        pending = {m.idempotency_key for m in to_send}
        # Skips, and what an earlier attempt already sent, first.
        self._record(mailing, step, batch, [m for m in batch.messages.values()
                                            if m.idempotency_key not in pending])
        bulk = getattr(port, "send_many", None)
        size = max(len(to_send), 1) if bulk is not None else CHUNK
        for start in range(0, len(to_send), size):
            chunk = to_send[start:start + size]
            try:
                self._send(port, chunk, batch)
            except ProviderUnavailable as exc:
                # Nothing after this point went out: a plain retry later, not an uncertain one.
                for unsent in to_send[start:]:
                    if unsent.idempotency_key not in batch.provider_ids:
                        ledger.record_not_sent(self.engine, unsent.idempotency_key, str(exc))
                raise ApplicationError(str(exc), type="ProviderUnavailable") from None
            finally:
                self._record(mailing, step, batch, chunk)
            heartbeat(start + len(chunk))
        result = _result(batch)
        log.info("mailing.batch", mailing_id=mailing.id, step_id=step.id, sent=result.sent,
                 failed=result.failed, duplicates=result.duplicates)
        return result

    def _compose_emails(self, conn, mailing: Mailing, step: MailingStep, contact_ids: list[str],
                        profiles: dict[str, ContactSnapshot], batch: Batch) -> None:
        content = step.as_message_step()
        addressed = {c: profiles[c] for c in contact_ids if c in profiles and profiles[c].email}
        for contact_id in contact_ids:
            if contact_id not in addressed:
                batch.skip(contact_id, "no_address", "contact has no email address")
        ids = list(addressed)
        # A transactional mailing (a receipt, a notice) is not marketing: email opt-outs
        # do not stop it; a bounced address does.
        opted = set() if mailing.transactional else recipients.opted_out(conn, "email", ids)[0]
        dead = recipients.bounced(conn, ids, [bounce_list_id(p.email) for p in addressed.values()])
        over_cap = self._capped(conn, mailing, "email", ids, batch)
        for contact_id, contact in addressed.items():
            if contact_id in opted:
                batch.skip(contact_id, "unsubscribed", "contact unsubscribed from email")
                continue
            if contact_id in dead:
                batch.skip(contact_id, "suppressed", "the address bounced permanently")
                continue
            if contact_id in over_cap:
                batch.skip(contact_id, "frequency_cap", self.options.frequency_caps["email"]
                           .describe("email"))
                continue
            key = message_key(mailing.id, step.id, contact_id)
            request = SendEmailRequest.for_step(content, key, "", contact_id)
            tracking = {"mailing_id": mailing.id, "step_id": step.id, "contact_id": contact_id}
            message = compose_email(contact, request, key, tracking, self.default_from,
                                    self.options)
            if isinstance(message, SendOutcome):
                batch.skip(contact_id, message.reason_code or "merge_value", message.reason or "")
            else:
                batch.messages[contact_id] = message

    def _compose_sms(self, conn, mailing: Mailing, step: MailingStep, contact_ids: list[str],
                     profiles: dict[str, ContactSnapshot], batch: Batch) -> None:
        numbers: dict[str, tuple[str, list[str]]] = {}
        for contact_id in contact_ids:
            contact = profiles.get(contact_id)
            if contact is None or not contact.phone:
                batch.skip(contact_id, "no_address", "contact has no phone number")
                continue
            e164 = to_e164(contact.phone, self.options.phone_default_region)
            if e164 is None:
                batch.skip(contact_id, "no_address",
                           f"phone number {contact.phone!r} is not a valid number (E.164)")
                continue
            numbers[contact_id] = (e164, stored_forms(contact.phone, e164))
        forms = sorted({form for _, held in numbers.values() for form in held})
        opted, blocked = recipients.opted_out(conn, "sms", list(numbers), forms)
        over_cap = self._capped(conn, mailing, "sms", list(numbers), batch)
        limit = max_chars_for("send_sms", "text")
        for contact_id, (e164, held) in numbers.items():
            if contact_id in opted or blocked & set(held):
                batch.skip(contact_id, "unsubscribed", "contact unsubscribed from sms (replied STOP)")
                continue
            if contact_id in over_cap:
                batch.skip(contact_id, "frequency_cap",
                           self.options.frequency_caps["sms"].describe("sms"))
                continue
            rendered = render_templates(profiles[contact_id], step.text, max_chars=limit)
            if isinstance(rendered, SendOutcome):
                batch.skip(contact_id, rendered.reason_code or "merge_value", rendered.reason or "")
                continue
            [text] = rendered
            batch.messages[contact_id] = SmsMessage(
                idempotency_key=message_key(mailing.id, step.id, contact_id),
                contact_id=contact_id, to=e164, body=text, sender=step.sender)
            batch.extra[contact_id] = {"segments": sms_text.segments(text),
                                       "encoding": sms_text.encoding(text)}

    def _capped(self, conn, mailing: Mailing, channel: str, contact_ids: list[str],
                 batch: Batch) -> set[str]:
        cap = self.options.frequency_caps.get(channel)
        if cap is None or mailing.transactional or not contact_ids:
            return set()
        return capped(conn, channel, contact_ids, cap, batch.now)

    def _claim(self, port: EmailSender | SmsSender, channel: str, batch: Batch) -> list[Message]:
        """Claim every key; returns the messages to hand to the provider. Keys sent by
        an earlier attempt, or found at the provider after one died in flight, are not."""
        claims = ledger.claim_many(self.engine, [(m.idempotency_key, channel, m.contact_id)
                                                 for m in batch.messages.values()])
        to_send = []
        for message in batch.messages.values():
            claim = claims[message.idempotency_key]
            if claim.already_sent:
                batch.duplicates += 1
                batch.provider_ids[message.idempotency_key] = claim.provider_message_id
                continue
            if claim.retry:
                known, provider_id = port.find_sent(message.idempotency_key)
                if provider_id is not None:
                    batch.provider_ids[message.idempotency_key] = provider_id
                    continue
                if not known:
                    ledger.count_uncertain_retry(self.engine, message.idempotency_key)
            to_send.append(message)
        return to_send

    def _send(self, port: EmailSender | SmsSender, chunk: list[Message], batch: Batch) -> None:
        send_many = getattr(port, "send_many", None)
        if send_many is not None:  # the outbox takes a batch in one transaction
            batch.provider_ids.update(send_many(chunk))
            return
        for message in chunk:
            try:
                batch.provider_ids[message.idempotency_key] = port.send(message)
            except ProviderRejected as exc:
                batch.failed[message.idempotency_key] = str(exc)

    def _record(self, mailing: Mailing, step: MailingStep, batch: Batch,
                messages: list[Message]) -> None:
        """Ledger, events and recipient rows of these messages (and the batch's skips,
        the first time) in one transaction: a crash before it leaves their keys pending
        (asked of the provider on retry), never half-recorded."""
        events, outcomes = [], batch.skipped
        batch.skipped = []
        sent: dict[str, str | None] = {}
        failed: dict[str, str] = {}
        for message in messages:
            key, contact_id = message.idempotency_key, message.contact_id
            if key in batch.failed:
                failed[key] = batch.failed[key]
                outcomes.append({"contact_id": contact_id, "status": "failed",
                                 "reason": "rejected", "detail": batch.failed[key]})
            elif key in batch.provider_ids:
                sent[key] = batch.provider_ids[key]
                events.append(ledger.sent_event(
                    key, contact_id, step.channel, message.to, None, step.id, sent[key],
                    source="dripstone.mailing", mailing_id=mailing.id,
                    **batch.extra.get(contact_id, {})))
                outcomes.append({
                    "contact_id": contact_id, "status": "sent", "sent_at": batch.now,
                    "converts_until": batch.now + step.conversion.within if step.conversion else None})
        if not outcomes:
            return
        self.flows.load()
        with self.engine.begin() as conn:
            ledger.mark_sent(conn, sent)
            for key, detail in failed.items():
                conn.execute(message_ledger.update()
                             .where(message_ledger.c.idempotency_key == key)
                             .values(status="failed", detail=detail[:2000], updated_at=batch.now))
            chosen: list = []
            append(conn, events, dispatch=True, fast_path=False,
                   routable=_remembering(routable(self.flows.trigger_types()), chosen))
            recipients.record(conn, mailing.id, step.id, outcomes)
        batch.outcomes += outcomes
        if chosen:
            BELL.ring()  # message.sent reaches the triggers and waits it can reach


def _remembering(pick, chosen: list):
    def remember(conn, appended):
        picked = pick(conn, appended)
        chosen.extend(picked)
        return picked
    return remember


def _result(batch: Batch) -> SendBatchResult:
    result = SendBatchResult(duplicates=batch.duplicates)
    for outcome in batch.outcomes:
        if outcome["status"] == "sent":
            result.sent += 1
        elif outcome["status"] == "failed":
            result.failed += 1
        else:
            result.skipped[outcome["reason"]] = result.skipped.get(outcome["reason"], 0) + 1
    return result
