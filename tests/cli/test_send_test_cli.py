"""`dripstone flow test-send`: one step's message to an address the user gives, through
the real provider SDKs aimed at local fakes; nothing is recorded as a journey's send."""

import re

import pytest
from sqlalchemy import func, select

from domain.events import EventType
from projections.event_store import ingest
from projections.flow_catalogue import publish
from projections.schema import events, message_ledger
from tests.cli.invoke import dripstone_run
from tests.fakes.provider_http import FakeProvider, Reply, twilio_message
from tests.journey_harness import contact, flow_from


@pytest.fixture
def fakes():
    with (
        FakeProvider(Reply(202, "", {"X-Message-Id": "sg-test"})) as sendgrid,
        FakeProvider(Reply(201, twilio_message(to="+14155550123"))) as twilio,
        FakeProvider(Reply(200, "menu")) as files,
    ):
        yield sendgrid, twilio, files


@pytest.fixture
def dripstone(engine, tmp_path, monkeypatch, fakes):
    sendgrid, twilio, _ = fakes
    for name, value in {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "DRIPSTONE_DATA_DIR": str(tmp_path),
        "COLUMNS": "200",
        "DRIPSTONE_EMAIL_PROVIDER": "sendgrid",
        "DRIPSTONE_SENDGRID_API_KEY": "SG.key",
        "DRIPSTONE_SENDGRID_BASE_URL": sendgrid.url,
        "DRIPSTONE_SMS_PROVIDER": "twilio",
        "DRIPSTONE_TWILIO_ACCOUNT_SID": "AC" + "8" * 32,
        "DRIPSTONE_TWILIO_AUTH_TOKEN": "token",
        "DRIPSTONE_TWILIO_FROM_NUMBER": "+14155550000",
        "DRIPSTONE_TWILIO_BASE_URL": twilio.url,
        "DRIPSTONE_VOICE_PROVIDER": "twilio",
        "DRIPSTONE_EMAIL_UNSUBSCRIBE_URL": "https://example.com/u/{{ contact_id }}",
        # The attachment is served on loopback: a deployment that allows private targets.
        "DRIPSTONE_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    }.items():
        monkeypatch.setenv(name, value)

    return dripstone_run


@pytest.fixture
def published(engine, fakes):
    _, _, files = fakes
    ingest(engine, contact("c1", email="ann@example.com", phone="+14155550101", first_name="Ann"))
    with engine.begin() as conn:
        # Published as the `dripstone` deployment (private targets allowed) would.
        publish(
            conn,
            flow_from(
                {
                    "id": "welcome",
                    "steps": [
                        {
                            "id": "hello",
                            "kind": "send_email",
                            "subject": "Hi {{ first_name }}",
                            "body": "Menu attached",
                            "attachments": [
                                {
                                    "filename": "menu.txt",
                                    "url": f"{files.url}/menu.txt",
                                    "size_bytes": 4,
                                    "content_type": "text/plain",
                                }
                            ],
                        },
                        {
                            "id": "text",
                            "kind": "send_sms",
                            "text": "Hi {{ first_name | default('there') }} 🎉",
                        },
                        {"id": "tag", "kind": "add_tag", "tag": "welcomed"},
                        {
                            "id": "call",
                            "kind": "phone_call",
                            "script": [{"action": "say", "text": "Hi {{ first_name }}"}],
                        },
                    ],
                }
            ),
            allow_private_targets=True,
        )


def test_an_email_step_is_sent_to_the_given_address_and_not_recorded(
    dripstone, published, fakes, engine
):
    sendgrid, _, files = fakes
    result = dripstone(
        "flow", "test-send", "welcome", "hello", "--to", "me@example.com", "--contact", "c1"
    )
    assert (
        "test email of welcome/hello sent to me@example.com via sendgrid (message id sg-test)"
        in result.stdout
    )
    body = sendgrid.requests[0].json()
    assert body["subject"] == "[Test] Hi Ann"
    assert body["personalizations"][0]["to"] == [{"email": "me@example.com"}]
    assert body["custom_args"]["test_send"] == "true"
    assert body["attachments"][0]["filename"] == "menu.txt" and len(files.requests) == 1
    assert body["headers"]["List-Unsubscribe"] == "<https://example.com/u/c1>"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(message_ledger)).scalar() == 0
        assert (
            conn.execute(
                select(func.count())
                .select_from(events)
                .where(events.c.type == EventType.MESSAGE_SENT)
            ).scalar()
            == 0
        )


def test_a_loopback_attachment_is_not_fetched_unless_the_setting_allows_it(
    dripstone, published, fakes, monkeypatch
):
    sendgrid, _, files = fakes
    monkeypatch.setenv("DRIPSTONE_WEBHOOK_ALLOW_PRIVATE_TARGETS", "false")
    result = dripstone(
        "flow", "test-send", "welcome", "hello", "--to", "me@example.com", "--contact", "c1", code=2
    )
    assert "attachment 'menu.txt' could not be fetched" in result.stderr
    assert "loopback" in result.stderr
    assert files.requests == [] and sendgrid.requests == []


def test_an_sms_step_is_sent_with_its_segments_shown(dripstone, published, fakes):
    _, twilio, _ = fakes
    result = dripstone("flow", "test-send", "welcome", "text", "--to", "+1 415 555 0123")
    assert "1 segment(s), UCS-2" in result.stdout
    form = twilio.requests[0].form()
    assert (form["To"], form["Body"]) == (["+14155550123"], ["Hi there 🎉"])


def test_a_phone_call_step_rings_the_given_number(dripstone, published, fakes):
    _, twilio, _ = fakes
    result = dripstone(
        "flow", "test-send", "welcome", "call", "--to", "+1 415 555 0199", "--contact", "c1"
    )
    assert "test call of welcome/call sent to +1 415 555 0199 via twilio" in result.stdout
    [request] = twilio.requests
    assert request.path.endswith("/Calls.json")
    assert request.form()["To"] == ["+14155550199"]
    assert "<Say>Hi Ann</Say>" in request.form()["Twiml"][0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("welcome", "nope", "--to", "me@example.com"), "flow 'welcome' has no step 'nope'"),
        (
            ("welcome", "tag", "--to", "me@example.com"),
            "only send_email, send_sms and phone_call steps can be tested",
        ),
        (("welcome", "tag", "--to", "me@example.com"), "step 'tag' is an add_tag step;"),
        (
            ("welcome", "hello", "--to", "not-an-address"),
            "--to: 'not-an-address' is not an email address",
        ),
        (("welcome", "text", "--to", "12"), "--to: '12' is not a valid phone number"),
        (
            ("welcome", "hello", "--to", "me@example.com", "--contact", "ghost"),
            "no contact 'ghost'",
        ),
        (("missing", "hello", "--to", "me@example.com"), "missing"),
    ],
)
def test_mistakes_are_named(dripstone, published, fakes, args, message):
    result = dripstone("flow", "test-send", *args, code=2)
    assert message in result.stderr
    assert fakes[0].requests == [] and fakes[1].requests == []


@pytest.mark.parametrize("as_contact", [["--contact", "c1"], []])
def test_a_test_send_carries_inert_preference_links(
    dripstone, published, fakes, monkeypatch, engine, as_contact
):
    """The test goes to an address someone typed: its preference and one-click links must
    not be a real contact's (nor a made-up one's), so they are placeholders that change
    nothing."""
    from cryptography.fernet import Fernet

    from activities.preference_links import TEST_SEND_TOKEN, LinkRefused, PreferenceLinks
    from settings import Settings

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("DRIPSTONE_PREFERENCE_LINK_KEY", key)
    monkeypatch.setenv("DRIPSTONE_PREFERENCE_BASE_URL", "https://mail.example.com")
    monkeypatch.setenv("DRIPSTONE_EMAIL_UNSUBSCRIBE_URL", "")
    with engine.begin() as conn:
        publish(
            conn,
            flow_from(
                {
                    "id": "news",
                    "steps": [
                        {
                            "id": "mail",
                            "kind": "send_email",
                            "subject": "News",
                            "body": "See {{ preferences_url }}",
                            "topic": "newsletter",
                        }
                    ],
                }
            ),
        )
    sendgrid, _, _ = fakes
    dripstone("flow", "test-send", "news", "mail", "--to", "me@example.com", *as_contact)
    sent = sendgrid.requests[0].body.decode()
    tokens = set(
        re.findall(r"https://mail\.example\.com/(?:preferences|unsubscribe)/([^\s\"<>\\]+)", sent)
    )
    assert tokens == {TEST_SEND_TOKEN}, sent
    links = PreferenceLinks.from_settings(Settings())
    with pytest.raises(LinkRefused):
        links.read(TEST_SEND_TOKEN)
