"""Journeys sending through the real provider adapters chosen by settings, with the
provider's HTTP API faked on loopback."""

from sqlalchemy import select

from domain.journey import JourneyStatus
from projections.event_store import ingest
from projections.schema import message_ledger, sent_messages
from settings import Settings
from tests.fakes.provider_http import FakeProvider, Reply, twilio_message
from tests.journey_harness import contact, enroll_and_finish, flow_from, journey_worker

FLOW = flow_from(
    {
        "id": "providers",
        "steps": [
            {"id": "mail", "kind": "send_email", "subject": "Hi {{ first_name }}", "body": "."},
            {"id": "text", "kind": "send_sms", "text": "Hi {{ first_name }}"},
        ],
    }
)


def provider_settings(settings: Settings, sendgrid_url: str, twilio_url: str) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=settings.data_dir,
        task_queue=settings.task_queue,
        email_provider="sendgrid",
        sendgrid_api_key="SG.key",
        sendgrid_base_url=sendgrid_url,
        sms_provider="twilio",
        twilio_account_sid="AC" + "3" * 32,
        twilio_auth_token="token",
        twilio_from_number="+14155550000",
        twilio_base_url=twilio_url,
    )


async def test_outage_is_retried_and_each_message_delivered_once(
    time_skipping_env, engine, settings
):
    ingest(engine, contact("c1", email="c1@example.com", phone="+14155550101", first_name="Ann"))
    with (
        FakeProvider(Reply(202, "", {"X-Message-Id": "sg-1"})) as sendgrid,
        FakeProvider(Reply(201, twilio_message())) as twilio,
    ):
        sendgrid.queue(Reply(503, {"errors": []}), Reply(429, {"errors": []}, {"Retry-After": "2"}))
        twilio.queue(Reply(500, {"code": 20500, "message": "oops", "status": 500}))
        configured = provider_settings(settings, sendgrid.url, twilio.url)
        async with journey_worker(time_skipping_env.client, engine, configured) as router:
            state = await enroll_and_finish(time_skipping_env, router, engine, FLOW, "c1")
    assert state.status == JourneyStatus.COMPLETED
    assert len(sendgrid.requests) == 3 and len(twilio.requests) == 2
    assert {r.json()["subject"] for r in sendgrid.requests} == {"Hi Ann"}
    with engine.connect() as conn:
        assert sorted(
            conn.execute(select(sent_messages.c.channel, sent_messages.c.provider_message_id)).all()
        ) == [("email", "sg-1"), ("sms", "SM0123456789abcdef0123456789abcdef")]
        ledger = {
            row.channel: (row.attempts, row.uncertain_retries)
            for row in conn.execute(
                select(
                    message_ledger.c.channel,
                    message_ledger.c.attempts,
                    message_ledger.c.uncertain_retries,
                )
            )
        }
    # The provider said "not now" each time, so no retry was a guess.
    assert ledger == {"email": (3, 0), "sms": (2, 0)}


async def test_rejected_message_is_recorded_and_the_journey_goes_on(
    time_skipping_env, engine, settings
):
    ingest(engine, contact("c2", email="bad@example.com", phone="+14155550102", first_name="Bo"))
    with (
        FakeProvider(
            Reply(400, {"errors": [{"message": "invalid recipient", "field": "to"}]})
        ) as sendgrid,
        FakeProvider(Reply(201, twilio_message())) as twilio,
    ):
        configured = provider_settings(settings, sendgrid.url, twilio.url)
        async with journey_worker(time_skipping_env.client, engine, configured) as router:
            state = await enroll_and_finish(time_skipping_env, router, engine, FLOW, "c2")
    assert len(sendgrid.requests) == 1  # a 4xx is not retried
    assert state.status == JourneyStatus.COMPLETED
    assert (
        state.trail[0].outcome.startswith("email failed")
        and "invalid recipient" in state.trail[0].outcome
    )
    assert state.trail[1].outcome == "sms sent"
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(message_ledger.c.status).where(message_ledger.c.channel == "email")
            ).scalar()
            == "failed"
        )
