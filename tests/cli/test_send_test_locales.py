"""`dripstone flow test-send --locale`: the variant a contact of that locale would get,
through the real provider SDKs aimed at local fakes."""

import pytest

from projections.event_store import ingest
from projections.flow_catalogue import publish
from tests.cli.test_send_test_cli import dripstone, fakes  # noqa: F401 (fixtures)
from tests.journey_harness import contact, flow_from


@pytest.fixture
def localized(engine):
    ingest(engine, contact("c-br", email="br@example.com", first_name="Ana", locale="pt_BR"))
    with engine.begin() as conn:
        publish(
            conn,
            flow_from(
                {
                    "id": "intl",
                    "steps": [
                        {
                            "id": "hello",
                            "kind": "send_email",
                            "subject": "Hi {{ first_name | default('you') }}",
                            "body": "Hello.",
                            "locales": {
                                "pt": {
                                    "subject": "Oi {{ first_name | default('você') }}",
                                    "body": "Olá.",
                                }
                            },
                        },
                        {
                            "id": "text",
                            "kind": "send_sms",
                            "text": "Hi",
                            "locales": {"es": {"text": "Hola"}},
                        },
                        {
                            "id": "call",
                            "kind": "phone_call",
                            "script": [{"action": "say", "text": "Hello"}],
                            "locales": {"es": {"script": [{"action": "say", "text": "Hola"}]}},
                        },
                    ],
                }
            ),
        )


def test_the_locale_option_chooses_the_variant_with_its_fallback(dripstone, localized, fakes):
    sendgrid, twilio, _ = fakes
    result = dripstone(
        "flow", "test-send", "intl", "hello", "--to", "me@example.com", "--locale", "pt-PT"
    )
    assert "locale pt-PT: variant pt" in result.stdout
    result = dripstone(
        "flow", "test-send", "intl", "text", "--to", "+14155550123", "--locale", "es_MX"
    )
    assert "locale es-MX: variant es" in result.stdout
    dripstone("flow", "test-send", "intl", "call", "--to", "+14155550199", "--locale", "es")
    assert sendgrid.requests[0].json()["subject"] == "[Test] Oi você"
    texts, calls = twilio.requests[0], twilio.requests[1]
    assert texts.form()["Body"] == ["Hola"]
    assert "<Say>Hola</Say>" in calls.form()["Twiml"][0]


def test_without_the_option_the_contacts_own_locale_chooses_and_the_option_overrides_it(
    dripstone, localized, fakes
):
    sendgrid, _, _ = fakes
    result = dripstone(
        "flow", "test-send", "intl", "hello", "--to", "me@example.com", "--contact", "c-br"
    )
    assert "locale pt_BR: variant pt" in result.stdout
    result = dripstone(
        "flow",
        "test-send",
        "intl",
        "hello",
        "--to",
        "me@example.com",
        "--contact",
        "c-br",
        "--locale",
        "fr",
    )
    assert "locale fr: the default content" in result.stdout
    assert [r.json()["subject"] for r in sendgrid.requests] == ["[Test] Oi Ana", "[Test] Hi Ana"]


def test_a_locale_that_is_no_language_tag_is_refused_naming_the_option(dripstone, localized, fakes):
    result = dripstone(
        "flow",
        "test-send",
        "intl",
        "hello",
        "--to",
        "me@example.com",
        "--locale",
        "Portuguese",
        code=2,
    )
    assert "--locale: 'Portuguese' is not a language tag" in result.stderr
    assert fakes[0].requests == []
