"""Provider webhooks steering journeys on the time-skipping server: the real SDKs send
to local fakes, and the "provider" calls our FastAPI app back with signed webhooks."""

import httpx
from twilio.request_validator import RequestValidator

from activities.sendgrid_email import SendGridEmail
from activities.twilio_sms import TwilioSms
from api.app import create_app
from api.recipients import phone_contact_id
from domain.journey import JourneyStatus, journey_workflow_id
from projections.contacts import load_snapshot
from projections.event_store import ingest
from projections.flow_catalogue import publish
from tests.api.http import TestClient
from tests.api.signing import TWILIO_TOKEN, SendGridSigner, sendgrid_event, twilio_post
from tests.api.v1_harness import async_client, ok
from tests.fakes.provider_http import FakeProvider, Reply, twilio_message
from tests.journey_harness import (
    contact,
    enroll_and_finish,
    event,
    flow_from,
    journey_result,
    journey_worker,
    send,
)
from tests.workflows.live_journeys import at_step

ACCOUNT = "AC" + "6" * 32
ANN = "+14155550101"


class RepliesStop(TwilioSms):
    """Twilio, and a recipient who answers the first text with STOP."""

    def __init__(self, fake: FakeProvider, webhooks: TestClient):
        super().__init__(ACCOUNT, TWILIO_TOKEN, "+14155550000", None, base_url=fake.url)
        self.webhooks = webhooks

    def send(self, message):
        sid = super().send(message)
        response = twilio_post(
            self.webhooks,
            "/webhooks/twilio/inbound",
            {
                "MessageSid": "SM" + "9" * 32,
                "From": message.to,
                "To": "+14155550000",
                "Body": "STOP",
            },
        )
        assert response.status_code == 200, response.text
        return sid


async def test_a_stop_reply_suppresses_the_next_sms_step(time_skipping_env, engine, settings):
    flow = flow_from(
        {
            "id": "texts",
            "steps": [
                {"id": "first", "kind": "send_sms", "text": "Hi {{ first_name }}"},
                {"id": "later", "kind": "wait", "delay": "1d"},
                {"id": "second", "kind": "send_sms", "text": "Still there?", "if_no_phone": "exit"},
                {"id": "tag", "kind": "add_tag", "tag": "reached-the-end"},
            ],
        }
    )
    ingest(engine, contact("ann", phone=ANN, first_name="Ann"))
    app = create_app(settings.model_copy(update={"twilio_auth_token": TWILIO_TOKEN}), engine)
    with FakeProvider(Reply(201, twilio_message())) as twilio, TestClient(app) as webhooks:
        async with journey_worker(
            time_skipping_env.client, engine, settings, sms=RepliesStop(twilio, webhooks)
        ) as router:
            state = await enroll_and_finish(time_skipping_env, router, engine, flow, "ann")
    assert len(twilio.requests) == 1
    outcomes = {visit.step_id: visit.outcome for visit in state.trail}
    assert outcomes["first"] == "sms sent"
    assert outcomes["second"] == "sms skipped: contact unsubscribed from sms (replied STOP)"
    # A suppressed contact is not a missing phone: the journey goes on to the end.
    assert state.status == JourneyStatus.COMPLETED and "tag" in outcomes


class OpensAtOnce(SendGridEmail):
    """SendGrid, and a recipient who opens the email: the open comes back through the
    signed event webhook carrying the custom_args the SDK sent."""

    def __init__(self, fake: FakeProvider, webhooks: TestClient, signer: SendGridSigner):
        super().__init__("SG.key", fake.url)
        self.fake, self.webhooks, self.signer = fake, webhooks, signer

    def send(self, message):
        provider_id = super().send(message)
        request = self.fake.requests[-1].json()
        custom_args = request["custom_args"]
        response = self.signer.post(
            self.webhooks,
            [
                sendgrid_event(
                    "open",
                    f"sg-open-{len(self.fake.requests)}",
                    request["personalizations"][0]["to"][0]["email"],
                    **custom_args,
                )
            ],
        )
        assert response.json()["stored"] == 1, response.text
        return provider_id


async def test_an_open_reported_by_the_webhook_decides_a_later_branch(
    time_skipping_env, engine, settings
):
    flow = flow_from(
        {
            "id": "opened-by-webhook",
            "steps": [
                {"id": "hello", "kind": "send_email", "subject": "Welcome", "body": "."},
                {"id": "pause", "kind": "wait", "delay": "2d"},
                {
                    "id": "opened",
                    "kind": "branch",
                    "condition": {
                        "kind": "opened_email",
                        "flow_id": "opened-by-webhook",
                        "step_id": "hello",
                    },
                    "then": "engaged",
                    "otherwise": "nudge",
                },
                {"id": "engaged", "kind": "add_tag", "tag": "engaged", "next": "end"},
                {"id": "nudge", "kind": "send_email", "subject": "Did you see it?", "body": "."},
                {"id": "end", "kind": "exit"},
            ],
        }
    )
    ingest(engine, contact("reader", email="r@example.com"))
    signer = SendGridSigner()
    app = create_app(
        settings.model_copy(update={"sendgrid_webhook_public_key": signer.public_key}), engine
    )
    with (
        FakeProvider(Reply(202, "", {"X-Message-Id": "sg-1"})) as sendgrid,
        TestClient(app) as webhooks,
    ):
        async with journey_worker(
            time_skipping_env.client,
            engine,
            settings,
            email=OpensAtOnce(sendgrid, webhooks, signer),
        ) as router:
            state = await enroll_and_finish(time_skipping_env, router, engine, flow, "reader")
    assert [visit.step_id for visit in state.trail] == [
        "hello",
        "pause",
        "opened",
        "engaged",
        "end",
    ]
    assert len(sendgrid.requests) == 1
    assert (
        sendgrid.requests[0].json()["custom_args"]["journey_id"]
        == "journey/opened-by-webhook/reader"
    )
    with engine.connect() as conn:
        assert load_snapshot(conn, "reader").tags == frozenset({"engaged"})


async def test_an_invalid_phone_exits_when_the_step_says_so(time_skipping_env, engine, settings):
    flow = flow_from(
        {
            "id": "strict",
            "steps": [
                {"id": "text", "kind": "send_sms", "text": "Hi", "if_no_phone": "exit"},
                {"id": "tag", "kind": "add_tag", "tag": "texted"},
            ],
        }
    )
    ingest(engine, contact("bad", phone="+1 234"))
    with FakeProvider(Reply(201, twilio_message())) as twilio:
        sms = TwilioSms(ACCOUNT, TWILIO_TOKEN, "+14155550000", None, base_url=twilio.url)
        async with journey_worker(time_skipping_env.client, engine, settings, sms=sms) as router:
            state = await enroll_and_finish(time_skipping_env, router, engine, flow, "bad")
    assert state.status == JourneyStatus.EXITED and twilio.requests == []
    assert [visit.step_id for visit in state.trail] == ["text"]


async def test_an_inbound_keyword_from_a_new_number_starts_a_flow(
    time_skipping_env, engine, settings
):
    """With a Temporal client the app routes what it stored: here a keyword sign-up."""
    flow = flow_from(
        {
            "id": "join",
            "trigger": {"event": "sms.received", "where": [{"path": "body", "value": "JOIN"}]},
            "steps": [{"id": "welcome", "kind": "send_sms", "text": "Welcome aboard"}],
        }
    )
    with engine.begin() as conn:
        publish(conn, flow)
    configured = settings.model_copy(update={"twilio_auth_token": TWILIO_TOKEN})
    app = create_app(configured, engine, time_skipping_env.client)
    newcomer = "+14155550177"
    with FakeProvider(Reply(201, twilio_message(to=newcomer))) as twilio:
        sms = TwilioSms(ACCOUNT, TWILIO_TOKEN, "+14155550000", None, base_url=twilio.url)
        async with journey_worker(time_skipping_env.client, engine, settings, sms=sms):
            # Same event loop as the Temporal client: httpx's ASGI transport, no thread.
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                form = {"MessageSid": "SM" + "7" * 32, "From": newcomer, "Body": "JOIN"}
                signature = RequestValidator(TWILIO_TOKEN).compute_signature(
                    "http://testserver/webhooks/twilio/inbound", form
                )
                response = await http.post(
                    "/webhooks/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature}
                )
            assert response.status_code == 200, response.text
            contact_id = phone_contact_id(newcomer)
            state = await journey_result(time_skipping_env, journey_workflow_id("join", contact_id))
    assert state.trail[0].outcome == "sms sent"
    assert twilio.requests[0].form()["To"] == [newcomer]


async def test_a_stop_posted_as_an_event_suppresses_the_next_sms_step(
    time_skipping_env, engine, settings
):
    """A STOP that comes in through POST /v1/events (a service relaying texts from
    another SMS gateway, say) counts as one from Twilio's webhook."""
    flow = flow_from(
        {
            "id": "relayed",
            "steps": [
                {"id": "first", "kind": "send_sms", "text": "Hi"},
                {"id": "later", "kind": "wait", "delay": "1d"},
                {"id": "second", "kind": "send_sms", "text": "Still there?"},
            ],
        }
    )
    ingest(engine, contact("bo", phone=ANN))
    with FakeProvider(Reply(201, twilio_message())) as twilio:
        sms = TwilioSms(ACCOUNT, TWILIO_TOKEN, "+14155550000", None, base_url=twilio.url)
        async with journey_worker(time_skipping_env.client, engine, settings, sms=sms) as router:
            with engine.begin() as conn:
                publish(conn, flow)
            [started] = await send(router, engine, event("bo", "form.submitted", {"form_id": "x"}))
            await at_step(time_skipping_env, started.workflow_id, "later")
            async with async_client(settings, engine) as api:
                ok(
                    await api.post(
                        "/v1/events",
                        json={
                            "type": "sms.received",
                            "contact_id": "bo",
                            "payload": {"body": "Stop.", "from_number": ANN},
                        },
                    ),
                    202,
                )
                profile = ok(await api.get("/v1/contacts/bo"))
            state = await journey_result(time_skipping_env, started.workflow_id)
    assert len(twilio.requests) == 1
    outcomes = {visit.step_id: visit.outcome for visit in state.trail}
    assert outcomes["second"] == "sms skipped: contact unsubscribed from sms (replied STOP)"
    assert profile["unsubscribed"] == ["sms"], profile
