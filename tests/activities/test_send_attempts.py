"""One attempt of send_email / send_sms against Temporal's timeouts: a slow attempt is
not taken for a dead worker, a retry never sends over an attempt that may still be
sending, an answered provider call is recorded even when the attempt is cancelled, and a
retry of a sent message says "sent" whatever screening says now."""

import dataclasses
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio import workflow
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities import ledger
from activities.messaging import MessagingActivities
from activities.outbox import Outbox
from domain.contracts.messaging import SendEmailRequest, SendOutcome, SendSmsRequest
from domain.events import EventType
from domain.step_table import SEND_EMAIL
from projections.event_store import ingest
from projections.schema import message_ledger
from tests.journey_harness import contact, event, outbox
from workflows.retries import retry_policy

KEY = "journey/f/c1/e1/hello/1"
REQUEST = SendEmailRequest(
    idempotency_key=KEY,
    flow_id="f",
    step_id="hello",
    contact_id="c1",
    subject="Hi",
    body="Hello {{ first_name }}",
)


class CountingOutbox(Outbox):
    """The real outbox, counting provider calls (the outbox itself dedups by key, a real
    provider that cannot look a key up does not)."""

    def __init__(self, engine, pause: float = 0.0, then=None):
        super().__init__(engine, "email")
        self.calls, self.pause, self.then = 0, pause, then

    def send(self, message):
        self.calls += 1
        time.sleep(self.pause)  # a slow provider (or a lock wait before it)
        provider_id = super().send(message)
        if self.then:
            self.then()
        return provider_id


def activity_env(attempt: int = 1) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info,
        workflow_id="journey/f/c1",
        attempt=attempt,
        start_to_close_timeout=SEND_EMAIL.start_to_close,
    )
    return env


def ledger_row(engine):
    with engine.connect() as conn:
        return conn.execute(select(message_ledger)).one()


@workflow.defn(name="OneSend")
class OneSend:
    @workflow.run
    async def run(self, request: SendEmailRequest) -> SendOutcome:
        # The send as the journey calls it, with a heartbeat timeout short enough for
        # the test: the provider call below lasts longer than it.
        return await workflow.execute_activity(
            "send_email",
            request,
            result_type=SendOutcome,
            start_to_close_timeout=SEND_EMAIL.start_to_close,
            heartbeat_timeout=timedelta(seconds=2),
            retry_policy=retry_policy(SEND_EMAIL.retry),
        )


@pytest.mark.devserver
async def test_a_provider_call_longer_than_the_heartbeat_timeout_is_one_attempt(
    dev_server_env, engine
):
    """Was: heartbeats only while waiting for the provider's pace, so a slow call was
    cut off by the heartbeat timeout and retried while the first was still sending."""
    ingest(engine, contact("c1", email="c1@example.com", first_name="Ann"))
    slow = CountingOutbox(engine, pause=5)
    messaging = MessagingActivities(engine, slow, Outbox(engine, "sms"), "hello@example.com")
    queue = f"tq-{uuid.uuid4()}"
    with ThreadPoolExecutor(4) as pool:
        async with Worker(
            dev_server_env.client,
            task_queue=queue,
            workflows=[OneSend],
            activities=[messaging.send_email],
            activity_executor=pool,
            workflow_runner=UnsandboxedWorkflowRunner(),
        ):
            outcome = await dev_server_env.client.execute_workflow(
                OneSend.run, REQUEST, id=f"one-send-{uuid.uuid4()}", task_queue=queue
            )
    assert (outcome.status, outcome.duplicate) == ("sent", False)
    assert slow.calls == 1
    row = ledger_row(engine)
    assert (row.status, row.attempts, row.uncertain_retries) == ("sent", 1, 0)


def test_a_retry_waits_for_an_attempt_that_may_still_be_sending(engine):
    """Was: the retry found the row pending, the provider could not say, and it sent
    again. Now an attempt touched less than the attempt timeout ago is in flight."""
    ingest(engine, contact("c1", email="c1@example.com", first_name="Ann"))
    ledger.claim(engine, KEY, "email", "c1")  # attempt 1, timed out but still sending
    provider = CountingOutbox(engine)
    messaging = MessagingActivities(engine, provider, Outbox(engine, "sms"), "hello@example.com")
    with pytest.raises(ApplicationError) as raised:
        activity_env(attempt=2).run(messaging.send_email, REQUEST)
    assert raised.value.type == "SendInFlight" and not raised.value.non_retryable
    assert (
        raised.value.next_retry_delay
        and raised.value.next_retry_delay <= SEND_EMAIL.start_to_close + timedelta(seconds=1)
    )
    assert provider.calls == 0
    row = ledger_row(engine)
    assert (row.status, row.attempts) == ("pending", 1)  # waiting counts no attempt


def test_an_attempt_that_ended_without_an_outcome_is_retried_at_once(engine):
    """The other side: a crash the attempt saw (a lost connection) is over, so the
    retry asks the provider rather than waiting."""
    ingest(engine, contact("c1", email="c1@example.com", first_name="Ann"))

    def lost():
        raise ConnectionResetError("lost after the provider accepted it")

    crashing = CountingOutbox(engine, then=lost)
    messaging = MessagingActivities(engine, crashing, Outbox(engine, "sms"), "hello@example.com")
    with pytest.raises(ConnectionResetError):
        activity_env().run(messaging.send_email, REQUEST)
    crashing.then = None
    outcome = activity_env(attempt=2).run(messaging.send_email, REQUEST)
    assert outcome.status == "sent" and crashing.calls == 1  # the outbox knew it
    assert len(outbox(engine)) == 1


def test_a_cancellation_after_the_provider_answered_still_records_the_send(engine):
    """Was: the cancellation (a timed-out attempt) landed between send() and the
    record, leaving the row pending for a retry to send again."""
    ingest(engine, contact("c1", email="c1@example.com", first_name="Ann"))
    env = activity_env()
    provider = CountingOutbox(engine, then=env.cancel)
    messaging = MessagingActivities(engine, provider, Outbox(engine, "sms"), "hello@example.com")
    with pytest.raises(CancelledError):
        env.run(messaging.send_email, REQUEST)
    row = ledger_row(engine)
    assert (row.status, row.provider_message_id) == ("sent", "outbox-1")
    retry = activity_env(attempt=2).run(messaging.send_email, REQUEST)
    assert (retry.status, retry.duplicate, provider.calls) == ("sent", True, 1)


def test_a_retry_of_a_sent_message_is_sent_even_if_the_contact_opted_out_since(engine):
    """Was: screening ran before the ledger, so the retry said "skipped: suppressed"
    for a message that had gone out."""
    ingest(engine, contact("c1", email="c1@example.com", phone="+14155550101", first_name="Ann"))
    messaging = MessagingActivities(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "hello@example.com"
    )
    sms = SendSmsRequest(
        idempotency_key="journey/f/c1/e1/text/1",
        flow_id="f",
        step_id="text",
        contact_id="c1",
        text="Hi",
    )
    first = (
        activity_env().run(messaging.send_email, REQUEST),
        activity_env().run(messaging.send_sms, sms),
    )
    ingest(
        engine,
        [
            event("c1", EventType.UNSUBSCRIBED, {"channel": "email"}),
            event("c1", EventType.UNSUBSCRIBED, {"channel": "sms"}),
        ],
    )
    again = (
        activity_env(attempt=2).run(messaging.send_email, REQUEST),
        activity_env(attempt=2).run(messaging.send_sms, sms),
    )
    assert [o.status for o in first] == ["sent", "sent"]
    assert [(o.status, o.duplicate) for o in again] == [("sent", True), ("sent", True)]
    assert [o.provider_message_id for o in again] == [o.provider_message_id for o in first]


def test_an_invalid_address_or_number_stays_out_of_the_reason(engine):
    ingest(engine, contact("c1", email="ann.example.com", phone="12345", first_name="Ann"))
    messaging = MessagingActivities(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "hello@example.com"
    )
    mail = activity_env().run(messaging.send_email, REQUEST)
    text = activity_env().run(
        messaging.send_sms,
        SendSmsRequest(
            idempotency_key="journey/f/c1/e1/text/1",
            flow_id="f",
            step_id="text",
            contact_id="c1",
            text="Hi",
        ),
    )
    assert [(o.status, o.reason_code) for o in (mail, text)] == [("skipped", "no_address")] * 2
    assert "ann.example.com" not in mail.reason and "12345" not in text.reason
    assert outbox(engine) == []


def test_a_slow_attempt_renews_its_lease_so_a_retry_waits_for_it(engine, monkeypatch):
    """The lease is renewed while the provider call runs: a retry claimed after the
    lease's length (but while the first attempt still sends) waits rather than sends."""
    monkeypatch.setattr(ledger, "CLAIM_RENEW_SECONDS", 0.2)
    monkeypatch.setattr(ledger, "CLAIM_LEASE", timedelta(seconds=1))
    ingest(engine, contact("c1", email="c1@example.com", first_name="Ann"))
    slow = CountingOutbox(engine, pause=2.5)
    messaging = MessagingActivities(engine, slow, Outbox(engine, "sms"), "hello@example.com")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(activity_env().run, messaging.send_email, REQUEST)
        time.sleep(1.6)  # past the lease's length since the claim, mid provider call
        with pytest.raises(ApplicationError) as raised:
            ledger.claim(engine, KEY, "email", "c1", ledger.CLAIM_LEASE)
        assert raised.value.type == "SendInFlight"
        assert first.result().status == "sent"
    assert slow.calls == 1


def test_an_attempt_whose_lease_ran_out_is_retried_without_waiting(engine, monkeypatch):
    """A killed worker renews nothing: once its lease ran out, the retry goes ahead at
    once (asking the provider), instead of waiting out the whole attempt timeout."""
    monkeypatch.setattr(ledger, "CLAIM_LEASE", timedelta(seconds=0.5))
    ingest(engine, contact("c1", email="c1@example.com", first_name="Ann"))
    ledger.claim(engine, KEY, "email", "c1")  # attempt 1, its worker then killed
    time.sleep(0.7)
    provider = CountingOutbox(engine)
    messaging = MessagingActivities(engine, provider, Outbox(engine, "sms"), "hello@example.com")
    outcome = activity_env(attempt=2).run(messaging.send_email, REQUEST)
    assert outcome.status == "sent" and provider.calls == 1
    row = ledger_row(engine)
    assert (row.status, row.attempts, row.uncertain_retries) == ("sent", 2, 0)
