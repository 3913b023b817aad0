"""send_email / send_sms features through the real sendgrid and twilio SDKs, aimed at
local fakes of their APIs; assertions are on the HTTP requests the SDKs made."""

import base64
import dataclasses

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.compose import MessagingOptions
from activities.messaging import MessagingActivities
from activities.outbox import Outbox
from activities.sendgrid_email import SendGridEmail
from activities.twilio_sms import TwilioSms
from domain.contracts.messaging import SendEmailRequest, SendSmsRequest
from domain.events import EventType
from projections.event_store import ingest, read_contact
from projections.schema import message_ledger
from tests.fakes.provider_http import FakeProvider, Reply, twilio_message
from tests.journey_harness import contact, event

ACCOUNT = "AC" + "4" * 32
SERVICE = "MG" + "5" * 32
JOURNEY = "journey/welcome/c1"


@pytest.fixture
def sendgrid():
    with FakeProvider(Reply(202, "", {"X-Message-Id": "sg-1"})) as fake:
        yield fake


@pytest.fixture
def files():
    """Where attachments are fetched from."""
    with FakeProvider(Reply(200, "%PDF-1.4 price list")) as fake:
        yield fake


def run(activities, method, request):
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=JOURNEY)
    return env.run(getattr(activities, method), request)


def email_request(key: str = f"{JOURNEY}/e1/hello/1", **fields) -> SendEmailRequest:
    return SendEmailRequest(
        **{
            "idempotency_key": key,
            "flow_id": "welcome",
            "step_id": "hello",
            "contact_id": "c1",
            "subject": "Hi {{ first_name }}",
            "body": "Welcome, {{ first_name }}!",
            **fields,
        }
    )


def sms_request(text: str = "Hi {{ first_name }}", contact_id: str = "c1") -> SendSmsRequest:
    return SendSmsRequest(
        idempotency_key=f"journey/welcome/{contact_id}/e1/text/1",
        flow_id="welcome",
        step_id="text",
        contact_id=contact_id,
        text=text,
    )


def with_sendgrid(engine, fake, **options) -> MessagingActivities:
    # The attachment files are served on loopback, which the fetch guard refuses unless
    # private targets are allowed (tests/activities/test_attachment_targets.py).
    options = {"allow_private_targets": True, **options}
    return MessagingActivities(
        engine,
        SendGridEmail("SG.key", fake.url),
        Outbox(engine, "sms"),
        "hello@example.com",
        MessagingOptions(**options),
    )


def test_dynamic_template_with_contact_fields_custom_args_and_list_unsubscribe(engine, sendgrid):
    ingest(engine, contact("c1", email="ann@example.com", first_name="Ann", plan="pro"))
    activities = with_sendgrid(
        engine,
        sendgrid,
        unsubscribe_url="https://example.com/u/{{ contact_id }}",
        unsubscribe_mailto="unsubscribe@example.com?subject={{ contact_id }}",
    )
    outcome = run(activities, "send_email", email_request(template_id="d-welcome", body=""))
    assert (outcome.status, outcome.provider_message_id) == ("sent", "sg-1")
    body = sendgrid.requests[0].json()
    assert body["template_id"] == "d-welcome" and "content" not in body
    data = body["personalizations"][0]["dynamic_template_data"]
    assert (data["first_name"], data["plan"], data["subject"]) == ("Ann", "pro", "Hi Ann")
    assert data["contact"]["email"] == "ann@example.com"
    assert body["custom_args"] == {
        "flow_id": "welcome",
        "step_id": "hello",
        "journey_id": JOURNEY,
        "contact_id": "c1",
        "idempotency_key": f"{JOURNEY}/e1/hello/1",
    }
    assert body["headers"] == {
        "List-Unsubscribe": "<mailto:unsubscribe@example.com?subject=c1>, <https://example.com/u/c1>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_inline_content_renders_merge_tags_and_sets_reply_to(engine, sendgrid):
    ingest(engine, contact("c1", email="ann@example.com", first_name="Ann"))
    run(with_sendgrid(engine, sendgrid), "send_email", email_request(reply_to="team@example.com"))
    body = sendgrid.requests[0].json()
    assert body["subject"] == "Hi Ann"
    assert body["content"] == [{"type": "text/plain", "value": "Welcome, Ann!"}]
    assert body["reply_to"] == {"email": "team@example.com"}
    assert "headers" not in body and "template_id" not in body


def test_attachments_are_fetched_once_and_sent_base64(engine, sendgrid, files):
    ingest(engine, contact("c1", email="ann@example.com", first_name="Ann"))
    attachment = {
        "filename": "prices.pdf",
        "url": f"{files.url}/files/prices.pdf",
        "size_bytes": 19,
        "content_type": "application/pdf",
    }
    activities = with_sendgrid(engine, sendgrid)
    run(activities, "send_email", email_request(attachments=[attachment]))
    [sent] = sendgrid.requests[0].json()["attachments"]
    assert sent == {
        "content": base64.b64encode(b"%PDF-1.4 price list").decode(),
        "filename": "prices.pdf",
        "type": "application/pdf",
        "disposition": "attachment",
    }
    assert [(r.method, r.path) for r in files.requests] == [("GET", "/files/prices.pdf")]
    # A retry of a step that already went out neither fetches nor sends again.
    again = run(activities, "send_email", email_request(attachments=[attachment]))
    assert again.duplicate and len(files.requests) == 1 and len(sendgrid.requests) == 1


@pytest.mark.parametrize("case", ["declared", "served"])
def test_attachments_over_25_mb_are_rejected_before_anything_is_sent(engine, sendgrid, files, case):
    ingest(engine, contact("c1", email="ann@example.com", first_name="Ann"))
    size = 26 * 2**20
    if case == "served":  # the flow said 1 kB; the server sends 26 MB
        files.queue(Reply(200, "x" * size))
    attachment = {
        "filename": "huge.bin",
        "url": f"{files.url}/huge.bin",
        "size_bytes": size if case == "declared" else 1000,
    }
    with pytest.raises(ApplicationError) as raised:
        run(with_sendgrid(engine, sendgrid), "send_email", email_request(attachments=[attachment]))
    assert raised.value.type == "ProviderRejected" and raised.value.non_retryable
    assert "the limit is 25 MB" in raised.value.message
    assert sendgrid.requests == []
    with engine.connect() as conn:
        assert conn.execute(select(message_ledger.c.status)).scalar() == "failed"


@pytest.mark.parametrize(
    ("status", "error_type", "ledger_status"),
    [(404, "ProviderRejected", "failed"), (503, "AttachmentUnavailable", "not_sent")],
)
def test_an_attachment_that_cannot_be_fetched_fails_or_retries(
    engine, sendgrid, files, status, error_type, ledger_status
):
    ingest(engine, contact("c1", email="ann@example.com", first_name="Ann"))
    files.queue(Reply(status, "nope"))
    attachment = {"filename": "a.pdf", "url": f"{files.url}/a.pdf", "size_bytes": 10}
    with pytest.raises(ApplicationError) as raised:
        run(with_sendgrid(engine, sendgrid), "send_email", email_request(attachments=[attachment]))
    assert raised.value.type == error_type and f"HTTP {status}" in raised.value.message
    assert sendgrid.requests == []
    with engine.connect() as conn:
        assert conn.execute(select(message_ledger.c.status)).scalar() == ledger_status


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        (
            [event("c1", EventType.UNSUBSCRIBED, {"channel": "email"})],
            "contact unsubscribed from email",
        ),
        (
            [
                event(
                    "c1",
                    EventType.EMAIL_BOUNCED,
                    {"email": "ann@example.com", "bounce_type": "bounce"},
                )
            ],
            "the address bounced permanently",
        ),
    ],
)
def test_opted_out_or_bounced_contacts_get_no_email(engine, sendgrid, events, reason):
    ingest(engine, contact("c1", email="ann@example.com", first_name="Ann") + events)
    outcome = run(with_sendgrid(engine, sendgrid), "send_email", email_request())
    assert (outcome.status, outcome.reason_code, outcome.reason) == (
        "skipped",
        "suppressed",
        reason,
    )
    assert sendgrid.requests == []


def with_twilio(engine, fake, **options) -> MessagingActivities:
    sms = TwilioSms(
        ACCOUNT,
        "secret",
        None,
        SERVICE,
        base_url=fake.url,
        status_callback_url="https://hooks.example.com/webhooks/twilio/status",
    )
    return MessagingActivities(
        engine, Outbox(engine, "email"), sms, "hello@example.com", MessagingOptions(**options)
    )


@pytest.mark.parametrize(
    ("text", "segments", "encoding"),
    [
        ("Hi {{ first_name }}", 1, "GSM-7"),
        ("{{ first_name }} " + "x" * 200, 2, "GSM-7"),
        ("Hi {{ first_name }} 👋 " + "y" * 70, 2, "UCS-2"),
    ],
)
def test_sms_goes_through_the_messaging_service_with_segments_counted(
    engine, text, segments, encoding
):
    ingest(engine, contact("c1", phone="+14155550101", first_name="Ann"))
    with FakeProvider(Reply(201, twilio_message())) as twilio:
        outcome = run(with_twilio(engine, twilio), "send_sms", sms_request(text))
    assert (outcome.status, outcome.segments, outcome.encoding) == ("sent", segments, encoding)
    form = twilio.requests[0].form()
    assert form["MessagingServiceSid"] == [SERVICE] and "From" not in form
    assert form["StatusCallback"] == ["https://hooks.example.com/webhooks/twilio/status"]
    with engine.connect() as conn:
        [sent] = [e for e in read_contact(conn, "c1") if e.type == EventType.MESSAGE_SENT]
    assert (sent.payload["segments"], sent.payload["encoding"]) == (segments, encoding)


@pytest.mark.parametrize(
    ("phone", "region", "sent_to"),
    [
        ("+1 (415) 555-0101", None, "+14155550101"),
        ("415 555 0101", "US", "+14155550101"),
        ("415 555 0101", None, None),
        ("+1 234", None, None),
    ],
)
def test_phones_are_normalised_to_e164_or_the_step_has_no_address(engine, phone, region, sent_to):
    ingest(engine, contact("c1", phone=phone, first_name="Ann"))
    with FakeProvider(Reply(201, twilio_message())) as twilio:
        outcome = run(
            with_twilio(engine, twilio, phone_default_region=region), "send_sms", sms_request()
        )
    if sent_to is None:
        assert (outcome.status, outcome.reason_code) == ("skipped", "no_address")
        assert "not a valid number" in outcome.reason and twilio.requests == []
    else:
        assert twilio.requests[0].form()["To"] == [sent_to]


def test_a_number_that_replied_stop_gets_no_sms(engine):
    ingest(
        engine,
        contact("c1", phone="+14155550101", first_name="Ann")
        + [event("c1", EventType.UNSUBSCRIBED, {"channel": "sms"})],
    )
    with FakeProvider(Reply(201, twilio_message())) as twilio:
        outcome = run(with_twilio(engine, twilio), "send_sms", sms_request())
    assert (outcome.status, outcome.reason_code) == ("skipped", "suppressed")
    assert twilio.requests == []


def test_an_sms_rendered_past_1600_characters_is_skipped(engine):
    ingest(engine, contact("c1", phone="+14155550101", first_name="Ann"))
    with FakeProvider(Reply(201, twilio_message())) as twilio:
        outcome = run(with_twilio(engine, twilio), "send_sms", sms_request("{{ 'x' * 1601 }}"))
    assert (outcome.status, outcome.reason_code) == ("skipped", "merge_value")
    assert "more than 1600 characters" in outcome.reason and twilio.requests == []


def test_a_subject_rendered_past_998_characters_is_skipped(engine, sendgrid):
    ingest(engine, contact("c1", email="ann@example.com", first_name="Ann"))
    outcome = run(
        with_sendgrid(engine, sendgrid),
        "send_email",
        email_request(subject="Hi {{ first_name * 400 }}"),
    )
    assert (outcome.status, outcome.reason_code) == ("skipped", "merge_value")
    assert "more than 998 characters" in outcome.reason and sendgrid.requests == []


def test_the_frequency_cap_skips_a_journey_message_past_the_limit_but_not_its_retry(engine):
    from datetime import timedelta

    from domain.frequency import FrequencyCap

    ingest(engine, contact("c1", email="ann@example.com", first_name="Ann"))
    caps = {"email": FrequencyCap(messages=1, within=timedelta(days=7))}
    activities = MessagingActivities(
        engine,
        Outbox(engine, "email"),
        Outbox(engine, "sms"),
        "hello@example.com",
        MessagingOptions(frequency_caps=caps),
    )
    first = run(activities, "send_email", email_request())
    retried = run(activities, "send_email", email_request())
    second = run(activities, "send_email", email_request(key=f"{JOURNEY}/e1/again/1"))
    receipt = run(
        activities, "send_email", email_request(key=f"{JOURNEY}/e1/receipt/1", transactional=True)
    )
    assert (first.status, retried.status, retried.duplicate) == ("sent", "sent", True)
    assert (second.status, second.reason_code, second.reason) == (
        "skipped",
        "frequency_cap",
        "frequency cap: 1 email message(s) within 1w",
    )
    assert receipt.status == "sent"
