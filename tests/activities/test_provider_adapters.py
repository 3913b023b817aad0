"""The real sendgrid and twilio SDKs, aimed at local fakes of their HTTP APIs."""

import pytest

from activities.ports import EmailMessage, ProviderRejected, ProviderUnavailable, SmsMessage
from activities.sendgrid_email import SendGridEmail
from activities.twilio_sms import TwilioSms
from tests.fakes.provider_http import FakeProvider, Reply, twilio_message

ACCOUNT = "AC" + "1" * 32
EMAIL = EmailMessage(
    idempotency_key="journey/f/c1/e1/s1/1",
    contact_id="c1",
    to="ann@example.com",
    from_email="hello@example.com",
    subject="Hi Ann",
    body="Welcome",
    tracking={"flow_id": "f", "step_id": "s1", "journey_id": "journey/f/c1"},
)
SMS = SmsMessage(
    idempotency_key="journey/f/c1/e1/s2/1", contact_id="c1", to="+14155550101", body="Hi Ann"
)


def test_sendgrid_request_carries_content_and_attribution():
    with FakeProvider(Reply(202, "", {"X-Message-Id": "sg-123"})) as fake:
        provider_id = SendGridEmail("SG.test-key", fake.url).send(EMAIL)
    assert provider_id == "sg-123"
    [request] = fake.requests
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    assert request.headers["Authorization"] == "Bearer SG.test-key"
    body = request.json()
    assert body["from"] == {"email": "hello@example.com"}
    assert body["subject"] == "Hi Ann"
    assert body["personalizations"][0]["to"] == [{"email": "ann@example.com"}]
    assert body["content"] == [{"type": "text/plain", "value": "Welcome"}]
    assert body["custom_args"] == {
        "flow_id": "f",
        "step_id": "s1",
        "journey_id": "journey/f/c1",
        "idempotency_key": "journey/f/c1/e1/s1/1",
    }


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ProviderRejected),
        (403, ProviderRejected),
        (429, ProviderUnavailable),
        (500, ProviderUnavailable),
        (503, ProviderUnavailable),
    ],
)
def test_sendgrid_errors_map_to_rejected_or_unavailable(status, error):
    with FakeProvider(
        Reply(status, {"errors": [{"message": "nope", "field": "from"}]}, {"Retry-After": "7"})
    ) as fake:
        with pytest.raises(error) as raised:
            SendGridEmail("SG.test-key", fake.url).send(EMAIL)
    if error is ProviderRejected:
        assert raised.value.status == status and "nope" in raised.value.reason
    if status == 429:
        assert raised.value.retry_after == 7


def test_twilio_request_posts_the_message_form():
    with FakeProvider(Reply(201, twilio_message())) as fake:
        sms = TwilioSms(ACCOUNT, "secret", "+14155550000", None, base_url=fake.url)
        assert sms.send(SMS) == "SM0123456789abcdef0123456789abcdef"
    [request] = fake.requests
    assert (request.method, request.path) == (
        "POST",
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
    )
    assert request.form() == {"To": ["+14155550101"], "From": ["+14155550000"], "Body": ["Hi Ann"]}
    assert request.headers["Authorization"].startswith("Basic ")


def test_twilio_messaging_service_is_used_when_configured():
    with FakeProvider(Reply(201, twilio_message())) as fake:
        TwilioSms(ACCOUNT, "secret", None, "MG" + "2" * 32, base_url=fake.url).send(SMS)
    assert fake.requests[0].form()["MessagingServiceSid"] == ["MG" + "2" * 32]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ProviderRejected),
        (404, ProviderRejected),
        (429, ProviderUnavailable),
        (500, ProviderUnavailable),
    ],
)
def test_twilio_errors_map_to_rejected_or_unavailable(status, error):
    reply = Reply(
        status, {"code": 21211, "message": "The 'To' number is not valid.", "status": status}
    )
    with FakeProvider(reply) as fake:
        with pytest.raises(error) as raised:
            TwilioSms(ACCOUNT, "secret", "+14155550000", None, base_url=fake.url).send(SMS)
    if error is ProviderRejected:
        assert "21211" in raised.value.reason
