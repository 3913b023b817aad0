"""One batch of a mailing step, delivered exactly once: check addresses and opt-outs,
render, claim the ledger keys, hand the messages to the channel's port, and write the
ledger, the message.sent events and the recipient rows back in one transaction.

The same checks and the same ledger as a journey's send (activities/messaging.py), in
bulk: a batch of 1,000 costs a handful of statements instead of several thousand, which
is what lets a mailing reach a segment at the database's pace. Retried after a crash,
the ledger says which keys went out (sent, kept) and which were in flight (asked of the
provider first, as a journey's retry does)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError

from activities import ledger
from activities.compose import MessagingOptions
from activities.mailing_compose import Batch, Message, compose_emails, compose_sms
from activities.pace import Pace
from activities.ports import (
    BatchOutcome,
    EmailSender,
    ProviderRejected,
    ProviderUnavailable,
    SmsSender,
)
from domain.mailing import Mailing, MailingStep
from domain.mailing_runs import SendBatchResult
from projections import mailing_recipients as recipients
from projections.contacts import load_profiles
from projections.dispatch_bell import BELL
from projections.event_store import append
from projections.live_flows import DEFAULT_CACHE_SIZE, LiveFlows
from projections.reachable import routable
from projections.schema import message_ledger

log = structlog.get_logger("dripstone.mailings")
# Messages per recorded chunk for providers called one message at a time (Twilio): what
# a crash can leave unrecorded, to be asked of the provider on retry. Ports that take
# batches say their own size (`batch_size`: the outbox 1,000, SendGrid 1,000 a request).
CHUNK = 20
# Requests in flight at once to a provider called one message at a time.
CONCURRENCY = 4


class MailingDelivery:
    def __init__(
        self,
        engine: Engine,
        email: EmailSender,
        sms: SmsSender,
        default_from: str,
        options: MessagingOptions | None = None,
        pace: Pace | None = None,
        flow_cache_size: int = DEFAULT_CACHE_SIZE,
    ):
        self.engine, self.email, self.sms = engine, email, sms
        self.default_from = default_from
        self.options = options or MessagingOptions()
        self.pace = pace or Pace(engine, {})
        self.flows = LiveFlows(engine, flow_cache_size)

    def deliver(
        self,
        mailing: Mailing,
        step: MailingStep,
        contact_ids: list[str],
        *,
        heartbeat: Callable[..., None] = lambda *details: None,
        stopped: Callable[[], bool] = lambda: False,
    ) -> SendBatchResult:
        """Sends in chunks of at most CHUNK messages' worth of requests, each recorded
        (ledger, events, recipient rows) as soon as the provider answered, then a
        heartbeat: a crash loses at most one chunk's record, and those keys, still
        pending in the ledger, are asked of the provider on retry. `stopped()` (the
        mailing was paused or cancelled) is asked before each chunk."""
        batch = Batch(now=datetime.now(UTC))
        heartbeat()  # alive before composing and claiming, not only after the first record
        self.flows.load()  # once per batch: which message.sent events a trigger takes
        # Worked out before anything is sent, so nothing after a send can fail on it.
        batch.converts_until = batch.now + step.conversion.within if step.conversion else None
        with self.engine.connect() as conn:
            profiles = load_profiles(conn, contact_ids)
            compose = compose_emails if step.channel == "email" else compose_sms
            compose(
                conn, mailing, step, contact_ids, profiles, batch, self.options, self.default_from
            )
        port = self.email if step.channel == "email" else self.sms
        to_send = self._claim(port, step.channel, batch)
        heartbeat()
        pending = {m.idempotency_key for m in to_send}
        # Skips, and what an earlier attempt already sent, first.
        self._record(
            mailing,
            step,
            batch,
            [m for m in batch.messages.values() if m.idempotency_key not in pending],
        )

        def record(part: list[Message]) -> None:
            self._record(mailing, step, batch, part)
            heartbeat()

        size = getattr(port, "batch_size", CHUNK)
        for start in range(0, len(to_send), size):
            if stopped():
                break  # the rest stay pending, for when the mailing goes on
            try:
                self._send(port, to_send[start : start + size], batch, record, heartbeat)
            except ProviderUnavailable as exc:
                if exc.retry_after:
                    self.pace.back_off(port.name, exc.retry_after)
                # Nothing after this point went out: a plain retry later, not an uncertain one.
                for unsent in to_send[start:]:
                    key = unsent.idempotency_key
                    if key not in batch.provider_ids and key not in batch.failed:
                        ledger.record_not_sent(self.engine, key, str(exc))
                delay = timedelta(seconds=exc.retry_after) if exc.retry_after else None
                raise ApplicationError(
                    str(exc), type="ProviderUnavailable", next_retry_delay=delay
                ) from None
        result = _result(batch)
        log.info(
            "mailing.batch",
            mailing_id=mailing.id,
            step_id=step.id,
            sent=result.sent,
            failed=result.failed,
            duplicates=result.duplicates,
        )
        return result

    def _claim(self, port: EmailSender | SmsSender, channel: str, batch: Batch) -> list[Message]:
        """Claim every key; returns the messages to hand to the provider. Keys sent by
        an earlier attempt, or found at the provider after one died in flight, are not."""
        claims = ledger.claim_many(
            self.engine,
            [(m.idempotency_key, channel, m.contact_id) for m in batch.messages.values()],
        )
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

    def _send(
        self,
        port: EmailSender | SmsSender,
        chunk: list[Message],
        batch: Batch,
        record: Callable[[list[Message]], None],
        heartbeat: Callable[..., None],
    ) -> None:
        """Hand the chunk over at the provider's pace, recording as answers come: ports
        that take batches (the outbox, SendGrid) in their own requests, recorded every
        CHUNK messages; others one message per request, a few at a time. Raises
        ProviderUnavailable when the provider stopped answering, after recording what
        it took."""
        answered: list[Message] = []

        def after(part: list[Message], outcome: BatchOutcome) -> None:
            for message in part:
                key = message.idempotency_key
                if key in outcome.sent:
                    batch.provider_ids[key] = outcome.sent[key]
                elif key in outcome.rejected:
                    batch.failed[key] = outcome.rejected[key]
            answered.extend(part)
            if len(answered) >= CHUNK:
                record(answered[:])
                answered.clear()

        try:
            send_many = getattr(port, "send_many", None)
            if send_many is not None:
                outcome = send_many(
                    chunk,
                    before=lambda permits: self.pace.acquire(port.name, permits, heartbeat),
                    after=after,
                )
            else:
                outcome = self._send_each(port, chunk, after, heartbeat)
        finally:
            if answered:
                record(answered)
        if outcome.unavailable is not None:
            raise outcome.unavailable

    def _send_each(
        self,
        port: EmailSender | SmsSender,
        chunk: list[Message],
        after: Callable[[list[Message], BatchOutcome], None],
        heartbeat: Callable[..., None],
    ) -> BatchOutcome:
        """One request per message (Twilio), a few at a time, each at its own slot. Each
        task runs in a copy of this thread's context, where the activity's heartbeat
        works (a long wait for a slot must not look like a dead worker)."""
        outcome = BatchOutcome()

        def one(message: Message) -> None:
            self.pace.acquire(port.name, 1, heartbeat)
            try:
                outcome.sent[message.idempotency_key] = port.send(message)
            except ProviderRejected as exc:
                outcome.rejected[message.idempotency_key] = str(exc)
            except ProviderUnavailable as exc:
                outcome.unavailable = outcome.unavailable or exc

        try:
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                running = [
                    pool.submit(contextvars.copy_context().run, one, message) for message in chunk
                ]
                for task in running:
                    task.result()
        finally:
            # On this thread (recording heartbeats the activity), and whatever went
            # wrong: what the provider took must be recorded before any error leaves.
            after(chunk, outcome)
        return outcome

    def _record(
        self, mailing: Mailing, step: MailingStep, batch: Batch, messages: list[Message]
    ) -> None:
        """Ledger, events and recipient rows of these messages (and the batch's skips,
        the first time) in one transaction: a crash before it leaves their keys pending
        (asked of the provider on retry), never half-recorded."""
        events, outcomes = [], batch.skipped
        batch.skipped = []
        marked = {"transactional": True} if mailing.transactional else {}
        sent: dict[str, str | None] = {}
        failed: dict[str, str] = {}
        for message in messages:
            key, contact_id = message.idempotency_key, message.contact_id
            if key in batch.failed:
                failed[key] = batch.failed[key]
                outcomes.append(
                    {
                        "contact_id": contact_id,
                        "status": "failed",
                        "reason": "rejected",
                        "detail": batch.failed[key],
                    }
                )
            elif key in batch.provider_ids:
                sent[key] = batch.provider_ids[key]
                events.append(
                    ledger.sent_event(
                        key,
                        contact_id,
                        step.channel,
                        message.to,
                        None,
                        step.id,
                        sent[key],
                        source="dripstone.mailing",
                        occurred_at=batch.now,
                        mailing_id=mailing.id,
                        **marked,
                        **batch.extra.get(contact_id, {}),
                    )
                )
                outcomes.append(
                    {
                        "contact_id": contact_id,
                        "status": "sent",
                        "sent_at": batch.now,
                        "converts_until": batch.converts_until,
                    }
                )
        if not outcomes:
            return
        with self.engine.begin() as conn:
            ledger.mark_sent(conn, sent)
            for key, detail in failed.items():
                conn.execute(
                    message_ledger.update()
                    .where(message_ledger.c.idempotency_key == key)
                    .values(status="failed", detail=detail[:2000], updated_at=batch.now)
                )
            chosen: list = []
            append(
                conn,
                events,
                dispatch=True,
                fast_path=False,
                routable=_remembering(routable(self.flows.trigger_types()), chosen),
            )
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
