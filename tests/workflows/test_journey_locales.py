"""Locale variants through the real path: journeys and a mailing on the time-skipping
server, the SendGrid and Twilio SDKs talking to fake HTTP servers that record what each
contact was sent; and a document with a bad locale refused at the API."""

from domain.journey import JourneyStatus
from domain.mailing_runs import MailingProgress
from projections.event_store import ingest
from tests.api.v1_harness import async_client, form_flow, ok, sync_client
from tests.fakes.provider_http import FakeProvider, Reply, twilio_message
from tests.journey_harness import contact, enroll_and_finish, flow_from, journey_worker
from tests.workflows.test_journey_providers import provider_settings

FLOW = flow_from(
    {
        "id": "intl",
        "steps": [
            {
                "id": "mail",
                "kind": "send_email",
                "subject": "Welcome {{ first_name }}",
                "body": "Hello {{ first_name }}.",
                "locales": {
                    "pt-BR": {
                        "subject": "Bem-vindo {{ first_name }}",
                        "body": "Olá {{ first_name }}, do Brasil.",
                    },
                    "pt": {
                        "subject": "Bem-vindo, {{ first_name }}",
                        "body": "Olá {{ first_name }}.",
                    },
                },
            },
            {
                "id": "text",
                "kind": "send_sms",
                "text": "Hi {{ first_name }}",
                "locales": {"pt_br": {"text": "Oi {{ first_name }}"}},
            },
        ],
    }
)

PEOPLE = {  # contact id -> (locale attribute, email, phone)
    "br": ("pt-BR", "br@example.com", "+14155550101"),
    "pt": ("pt_PT", "pt@example.com", "+14155550102"),  # falls back to pt
    "fr": ("fr", "fr@example.com", "+14155550103"),  # no French: the default
    "xx": (None, "xx@example.com", "+14155550104"),  # no locale at all: the default
}


def add_people(engine) -> None:
    for contact_id, (locale, email, phone) in PEOPLE.items():
        extra = {"locale": locale} if locale else {}
        ingest(
            engine,
            contact(contact_id, email=email, phone=phone, first_name=contact_id.upper(), **extra),
        )


def sent_emails(sendgrid: FakeProvider) -> dict[str, tuple[str, str]]:
    """Recipient -> (subject, body) over every request SendGrid got."""
    found = {}
    for request in sendgrid.requests:
        body = request.json()
        text = body["content"][0]["value"]
        for person in body["personalizations"]:
            found[person["to"][0]["email"]] = (person.get("subject") or body.get("subject"), text)
    return found


def sent_texts(twilio: FakeProvider) -> dict[str, str]:
    return {r.form()["To"][0]: r.form()["Body"][0] for r in twilio.requests}


async def test_each_contact_gets_their_locale_or_the_nearest_one_or_the_default(
    time_skipping_env, engine, settings
):
    add_people(engine)
    with (
        FakeProvider(Reply(202, "", {"X-Message-Id": "sg"})) as sendgrid,
        FakeProvider(Reply(201, twilio_message())) as twilio,
    ):
        configured = provider_settings(settings, sendgrid.url, twilio.url)
        async with journey_worker(time_skipping_env.client, engine, configured) as router:
            for contact_id in PEOPLE:
                state = await enroll_and_finish(time_skipping_env, router, engine, FLOW, contact_id)
                assert state.status == JourneyStatus.COMPLETED, state
    assert sent_emails(sendgrid) == {
        "br@example.com": ("Bem-vindo BR", "Olá BR, do Brasil."),
        "pt@example.com": ("Bem-vindo, PT", "Olá PT."),
        "fr@example.com": ("Welcome FR", "Hello FR."),
        "xx@example.com": ("Welcome XX", "Hello XX."),
    }
    assert sent_texts(twilio) == {
        "+14155550101": "Oi BR",
        "+14155550102": "Hi PT",
        "+14155550103": "Hi FR",
        "+14155550104": "Hi XX",
    }


MAILING = {
    "id": "intl-news",
    "audience": {"contacts": list(PEOPLE)},
    "steps": [
        {
            "id": "main",
            "channel": "email",
            "subject": "News for {{ first_name }}",
            "body": "News.",
            "locales": {
                "pt": {"subject": "Novidades para {{ first_name }}", "body": "Novidades."},
                "PT-br": {"body": "Novidades do Brasil."},
            },
        },
        {
            "id": "later",
            "channel": "sms",
            "when": {"delay": "1h"},
            "text": "More news",
            "locales": {"fr": {"text": "Plus de nouvelles"}},
        },
    ],
}


async def test_a_mailing_to_mixed_locales_sends_each_recipient_their_variant(
    own_time_skipping_env, engine, settings
):
    add_people(engine)
    with (
        FakeProvider(Reply(202, "", {"X-Message-Id": "sg"})) as sendgrid,
        FakeProvider(Reply(201, twilio_message())) as twilio,
    ):
        configured = provider_settings(settings, sendgrid.url, twilio.url)
        # A server of its own, as every mailing test has (tests/mailings): the mailing's
        # hour-long wait is skipped only while the test awaits its result.
        env = own_time_skipping_env
        async with (
            journey_worker(env.client, engine, configured),
            async_client(configured, engine, env.client) as api,
        ):
            ok(await api.post("/v1/mailings", json=MAILING), 201)
            ok(await api.post("/v1/mailings/intl-news/send"))
            async with env.time_skipping_unlocked():
                progress = await env.client.get_workflow_handle(
                    "mailing/intl-news", result_type=MailingProgress
                ).result()
    assert (progress.totals["main"].sent, progress.totals["later"].sent) == (4, 4)
    # The PT-br variant gives only a body: its subject falls back to pt's, field by field.
    assert sent_emails(sendgrid) == {
        "br@example.com": ("Novidades para BR", "Novidades do Brasil."),
        "pt@example.com": ("Novidades para PT", "Novidades."),
        "fr@example.com": ("News for FR", "News."),
        "xx@example.com": ("News for XX", "News."),
    }
    # One request per distinct body: recipients sharing a variant still go together.
    assert len(sendgrid.requests) == 3
    assert sent_texts(twilio) == {
        "+14155550101": "More news",
        "+14155550102": "More news",
        "+14155550103": "Plus de nouvelles",
        "+14155550104": "More news",
    }


def test_a_bad_locale_is_refused_at_the_api_naming_the_field(engine, settings):
    bad_step = {
        "id": "hello",
        "kind": "send_email",
        "subject": "Hi",
        "body": ".",
        "locales": {"Portuguese": {"subject": "Oi"}, "pt-BR": {"subject": "{{ x"}},
    }
    with sync_client(settings, engine) as client:
        saved = ok(
            client.post("/v1/flows", json={**form_flow("bad-locale"), "steps": [bad_step]}), 201
        )
        assert {(p["field"], p["code"]) for p in saved["problems"]} >= {
            ("locales.Portuguese", "invalid_locale"),
            ("locales.pt-BR.subject", "bad_merge_tag"),
        }
        refused = client.post("/v1/flows/bad-locale/publish")  # the API's answer to a draft
        assert refused.status_code == 409, refused.text  # with errors, as for any
        assert ("locales.Portuguese", "invalid_locale") in {
            (p["field"], p["code"]) for p in refused.json()["problems"]
        }
        mailing = client.post(
            "/v1/mailings",
            json={
                **MAILING,
                "id": "bad",
                "steps": [{**MAILING["steps"][0], "locales": {"pt_BR_x": {"subject": "Oi"}}}],
            },
        )
        assert mailing.status_code == 422, mailing.text
        assert ("steps.0.locales.pt_BR_x", "invalid_locale") in {
            (p["field"], p["code"]) for p in mailing.json()["problems"]
        }
