"""The one delivery core: every message a journey sends one at a time (send_email,
send_sms, place_call, notify_team) goes through the same rules, in this order:

1. the contact, loaded once (UnknownContact is final);
2. the address: an email needs an "@"; a phone number is made E.164 with the
   deployment's default region (DRIPSTONE_PHONE_DEFAULT_REGION) for national numbers;
   none: skipped, reason_code no_address (SendSms.if_no_phone may end the journey);
3. screening, only for messages to the contact (a team notification is about the
   contact, not to them): dead or opted-out addresses (an SMS STOP holds for SMS and
   calls, transactional or not; an email opt-out spares transactional email), topic
   opt-outs on channels that have topics and frequency caps on channels that have one
   (both skipped for transactional messages);
4. the message ledger: claim the key, ask the provider about an uncertain earlier
   attempt, wait for the provider's shared pace, call, then record the outcome and
   message.sent together, so a retried activity never sends twice. An earlier attempt
   that may still be sending (timed out, not ended) is waited for, never sent over; once
   the provider answered, the outcome is recorded even if the attempt is cancelled.

Screening runs before the ledger claim, so a suppressed message leaves no ledger row;
a retry of a message already sent is answered from the ledger before screening (an
opt-out since then must not turn "sent" into "skipped"). Reasons never carry the address
or number: they reach the trail, step reports, the API and the console.
What a channel adds (composing an email, TwiML for a call, counting SMS segments) stays
with its activity; each talks to its own port (activities/ports.py, voice_port.py)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import structlog
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import ledger
from activities.compose import MessagingOptions
from activities.heartbeat import shielded
from activities.leases import Leases
from activities.pace import Pace
from activities.phones import stored_forms, to_e164
from activities.ports import ProviderRejected, ProviderUnavailable
from activities.suppression import (
    capped,
    email_suppression,
    sms_suppression,
    topic_opt_outs,
    topic_reason,
)
from domain import sms as sms_text
from domain.conditions import ContactSnapshot
from domain.topics import TOPIC_CHANNELS, topic_or_default
from projections.contacts import load_snapshot

log = structlog.get_logger("dripstone.delivery")

# Ledger channels of messages to the contact; "team_email" / "team_sms" are to the team.
ContactChannel = Literal["email", "sms", "voice"]
PHONE_CHANNELS = frozenset({"sms", "voice", "team_sms"})
SMS_CHANNELS = frozenset({"sms", "team_sms"})  # billed by segment


@dataclass(frozen=True)
class Skip:
    """Why a message was not sent; each activity turns it into its own outcome."""

    reason: str
    reason_code: Literal["no_address", "suppressed", "unsubscribed_topic", "frequency_cap"]


@dataclass(frozen=True)
class Delivered:
    provider_message_id: str | None
    duplicate: bool = False  # sent by an earlier attempt; nothing went out now


class Message(Protocol):
    @property
    def idempotency_key(self) -> str: ...
    @property
    def contact_id(self) -> str: ...
    @property
    def to(self) -> str: ...
    @property
    def body(self) -> str: ...


class Port(Protocol):
    name: str

    def find_sent(self, idempotency_key: str) -> tuple[bool, str | None]: ...


class Delivery:
    def __init__(
        self, engine: Engine, options: MessagingOptions | None = None, pace: Pace | None = None
    ):
        self.engine = engine
        self.options = options or MessagingOptions()
        self.pace = pace or Pace(engine, {})
        self.leases = Leases(
            lambda keys: ledger.renew_claims(engine, keys), lambda: ledger.CLAIM_RENEW_SECONDS
        )

    # --- 1. the contact -----------------------------------------------------------------

    def contact(self, contact_id: str) -> ContactSnapshot:
        return load_contact(self.engine, contact_id)

    # --- 2. the address -----------------------------------------------------------------

    def phone(self, raw: str | None) -> str | None:
        """E.164, or None; a national number is read in the deployment's region."""
        return to_e164(raw, self.options.phone_default_region)

    def address(self, channel: ContactChannel, contact: ContactSnapshot) -> str | Skip:
        """The contact's address on `channel`, or why there is none (no_address)."""
        if channel == "email":
            if not contact.email or not contact.email.strip():
                return Skip("contact has no email address", "no_address")
            if "@" not in contact.email:
                return Skip('contact\'s email address is not valid (no "@")', "no_address")
            return contact.email.strip()
        if not contact.phone or not contact.phone.strip():
            return Skip("contact has no phone number", "no_address")
        number = self.phone(contact.phone)
        if number is None:
            # Same code as a missing number: the step's if_no_phone decides skip or exit.
            return Skip("contact's phone number is not a valid number (E.164)", "no_address")
        return number

    # --- 3. screening (messages to the contact only) ----------------------------------

    def screen(
        self,
        channel: ContactChannel,
        contact: ContactSnapshot,
        to: str,
        key: str,
        *,
        transactional: bool = False,
        topic: str | None = None,
    ) -> Skip | None:
        with self.engine.connect() as conn:
            if channel == "email":
                suppressed = email_suppression(
                    conn, contact.contact_id, to, transactional=transactional
                )
            else:
                # A STOP revokes consent to texts and automated calls alike, whoever
                # holds the number, transactional or not.
                suppressed = sms_suppression(
                    conn, contact.contact_id, stored_forms(contact.phone or "", to)
                )
            if suppressed:
                return Skip(suppressed, "suppressed")
            if transactional:
                return None  # exempt from topic opt-outs and frequency caps
            chosen = topic_or_default(topic)
            if channel in TOPIC_CHANNELS and topic_opt_outs(
                conn, channel, chosen, [contact.contact_id]
            ):
                # Its own code: per-step analytics count topic opt-outs apart.
                return Skip(topic_reason(chosen, channel), "unsubscribed_topic")
            cap = self.options.frequency_caps.get(channel) if channel != "voice" else None
            # A retried send whose own message counts is not capped (the ledger makes it
            # a duplicate).
            if cap is not None and contact.contact_id in capped(
                conn, channel, [contact.contact_id], cap, datetime.now(UTC), exclude_key=key
            ):
                return Skip(cap.describe(channel), "frequency_cap")
        return None

    # --- 4. the ledger around one provider call ---------------------------------------

    def deliver(
        self,
        port: Port,
        channel: str,
        message: Message,
        flow_id: str,
        step_id: str,
        *,
        send: Callable[[Any], str | None],
        prepare: Callable[[Any], Any] | None = None,
        sent_extra: dict[str, Any] | None = None,
    ) -> Delivered:
        """`send` is the port's call for this channel (send, or call for voice);
        `prepare` finishes the message once this attempt is known to send (attachments
        are fetched then: never for a duplicate), recording a failure if it raises."""
        key = message.idempotency_key
        claim = ledger.claim(self.engine, key, channel, message.contact_id, ledger.CLAIM_LEASE)
        if claim.already_sent:
            return Delivered(claim.provider_message_id, duplicate=True)
        try:
            # The lease: renewed while this attempt lives, so a retry waits for a slow
            # attempt but not for a dead one (a killed worker costs the heartbeat timeout).
            with self.leases.holding(key):
                return self._send_claimed(
                    port,
                    channel,
                    message,
                    flow_id,
                    step_id,
                    claim.retry,
                    send,
                    prepare,
                    sent_extra,
                )
        except BaseException as exc:
            # Over without an outcome (a lost connection, a crash, a cancellation): the
            # next attempt asks the provider, but need not wait for this one. A no-op
            # once the outcome is recorded (failed, not sent).
            ledger.record_ended(self.engine, key, repr(exc))
            raise

    def _send_claimed(
        self,
        port: Port,
        channel: str,
        message: Message,
        flow_id: str,
        step_id: str,
        retry: bool,
        send: Callable[[Any], str | None],
        prepare: Callable[[Any], Any] | None,
        sent_extra: dict[str, Any] | None,
    ) -> Delivered:
        key = message.idempotency_key
        provider_id = None
        if retry:
            known, provider_id = port.find_sent(key)
            if not known:
                ledger.count_uncertain_retry(self.engine, key)
                log.warning("send.uncertain_retry", key=key, provider=port.name)
        if provider_id is None:
            if prepare is not None:
                message = self._prepared(key, prepare, message)
            # Every worker shares the provider's rate (DRIPSTONE_PROVIDER_RATES), whichever
            # step kind sends through it; the wait stays cancellable.
            self.pace.acquire(port.name, 1, activity.heartbeat)
        # Once the provider is called, a cancellation waits until the outcome is recorded.
        with shielded():
            if provider_id is None:
                provider_id = self._call_provider(port, key, lambda: send(message))
            extra = dict(sent_extra or {})
            if channel in SMS_CHANNELS:
                extra.update(segments(message.body))
            ledger.record_sent(
                self.engine,
                key,
                provider_id,
                ledger.sent_event(
                    key,
                    message.contact_id,
                    channel,
                    message.to,
                    flow_id,
                    step_id,
                    provider_id,
                    **extra,
                ),
            )
        return Delivered(provider_id)

    def sent_before(self, key: str) -> Delivered | None:
        """A retry of a message an earlier attempt sent (read-only; nothing is claimed)."""
        claim = ledger.sent_already(self.engine, key)
        return None if claim is None else Delivered(claim.provider_message_id, duplicate=True)

    def _prepared(self, key: str, prepare: Callable[[Any], Any], message: Message) -> Any:
        try:
            return prepare(message)
        except ApplicationError as exc:
            # Nothing went out: a later attempt is a plain retry, or the step failed for good.
            record = ledger.record_failed if exc.non_retryable else ledger.record_not_sent
            record(self.engine, key, str(exc))
            raise

    def _call_provider(self, port: Port, key: str, call: Callable[[], str | None]) -> str | None:
        try:
            return call()
        except ProviderRejected as exc:
            ledger.record_failed(self.engine, key, str(exc))
            raise ApplicationError(str(exc), non_retryable=True, type="ProviderRejected") from None
        except ProviderUnavailable as exc:
            # "Not now" means nothing went out: the next attempt is a plain retry. A
            # Retry-After holds the provider back for every worker.
            ledger.record_not_sent(self.engine, key, str(exc))
            if exc.retry_after:
                self.pace.back_off(port.name, exc.retry_after)
            delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
            raise ApplicationError(
                str(exc), type="ProviderUnavailable", next_retry_delay=delay
            ) from None


def load_contact(engine: Engine, contact_id: str) -> ContactSnapshot:
    """The contact as merge tags read it (the profile only: email, phone, attributes);
    an unknown contact fails the step for good. Webhooks load theirs here too."""
    with engine.connect() as conn:
        contact = load_snapshot(conn, contact_id, {"attributes"})
    if contact is None:
        raise ApplicationError(
            f"contact {contact_id!r} is unknown", non_retryable=True, type="UnknownContact"
        )
    return contact


def segments(text: str) -> dict[str, Any]:
    """What an SMS is billed as (GSM-7 or UCS-2 parts), recorded on message.sent."""
    return {"segments": sms_text.segments(text), "encoding": sms_text.encoding(text)}
