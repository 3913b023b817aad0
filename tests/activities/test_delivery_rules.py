"""One delivery core (activities/delivery.py) for send_email, send_sms, place_call and
notify_team: each test pins a rule on which the two former cores (messaging.py's and
callouts.deliver_once) disagreed, and fails on the side that lacked it."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.compose import MessagingOptions
from activities.delivery import Delivery
from activities.messaging import MessagingActivities
from activities.outbox import Outbox
from activities.pace import Pace
from activities.sendgrid_email import SendGridEmail
from activities.team_notify import TeamNotifyActivities
from activities.voice import VoiceActivities, place_test_call
from activities.voice_port import OutboxVoice
from domain.contracts.actions import ActionRequest
from domain.contracts.messaging import SendEmailRequest, SendSmsRequest
from domain.events import EventType
from domain.steps.messaging import PhoneCall
from projections.event_store import ingest, read_contact
from projections.mailing_schema import provider_pace
from tests.fakes.provider_http import FakeProvider, Reply
from tests.journey_harness import contact, event, outbox
from worker import activities_for

US = MessagingOptions(phone_default_region="US")
CALL = PhoneCall.model_validate(
    {
        "id": "call",
        "kind": "phone_call",
        "script": [{"action": "say", "text": "Hello {{ first_name }}."}],
    }
)


def action(step: dict, contact_id: str = "c1") -> ActionRequest:
    return ActionRequest(
        idempotency_key=f"journey/f/{contact_id}/e1/{step['id']}/1",
        journey_id=f"journey/f/{contact_id}",
        flow_id="f",
        step_id=step["id"],
        contact_id=contact_id,
        step=step,
    )


def run(fn, request):
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="journey/f/c1")
    return env.run(fn, request)


def notifier(delivery: Delivery, email=None, **team) -> TeamNotifyActivities:
    engine = delivery.engine
    return TeamNotifyActivities(
        delivery,
        email or Outbox(engine, "email"),
        Outbox(engine, "sms"),
        "hello@dripstone.local",
        **team,
    )


def next_free(engine, provider: str) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(
            select(provider_pace.c.next_free_at).where(provider_pace.c.provider == provider)
        ).scalar()


def sent_payloads(engine, contact_id: str = "c1") -> list[dict]:
    with engine.connect() as conn:
        return [
            e.payload for e in read_contact(conn, contact_id) if e.type == EventType.MESSAGE_SENT
        ]


def test_the_issue_case_a_national_number_gets_both_the_sms_and_the_call(engine, settings):
    """(415) 555-0101 with the deployment's region: the worker's send_sms and place_call
    read one region (one MessagingOptions), so neither is skipped."""
    ingest(engine, contact("c1", phone="(415) 555-0101", first_name="Ann"))
    registered = {
        getattr(fn, "__temporal_activity_definition").name: fn
        for fn in activities_for(
            settings.model_copy(update={"phone_default_region": "US"}),
            engine,
            email=Outbox(engine, "email"),
            sms=Outbox(engine, "sms"),
            voice=OutboxVoice(engine),
        )
    }
    sms = run(
        registered["send_sms"],
        SendSmsRequest(
            idempotency_key="journey/f/c1/e1/text/1",
            flow_id="f",
            step_id="text",
            contact_id="c1",
            text="Hi {{ first_name }}",
        ),
    )
    call = run(registered["place_call"], action(CALL.model_dump(mode="json")))
    assert (sms.status, call.status) == ("sent", "done"), (sms, call)
    assert sorted((row.channel, row.to_address) for row in outbox(engine)) == [
        ("sms", "+14155550101"),
        ("voice", "+14155550101"),
    ]


def test_a_team_sms_to_a_national_number_uses_the_deployments_region(engine):
    """Was: notify_team read the team's number with no region, so a national number was
    'no valid team phone number' while the contact's own SMS went out."""
    ingest(engine, contact("c1", first_name="Ann"))
    step = {"id": "s", "kind": "notify_team", "channel": "sms", "message": "Lead {{ first_name }}"}
    outcome = run(
        notifier(Delivery(engine, US), team_phone="(415) 555-0188").notify_team, action(step)
    )
    assert outcome.status == "done", outcome
    assert [(row.channel, row.to_address) for row in outbox(engine)] == [("sms", "+14155550188")]


def test_a_test_call_to_a_national_number_uses_the_deployments_region(engine):
    """Was: the test call read the number with no region (the test SMS used it)."""
    ingest(engine, contact("c1", first_name="Ann"))
    place_test_call(
        Delivery(engine, US), OutboxVoice(engine), CALL, "(415) 555-0123", contact_id="c1"
    )
    assert [row.to_address for row in outbox(engine)] == ["+14155550123"]


def test_calls_wait_for_the_providers_shared_pace(engine):
    """Was: calls (and team notifications) went around DRIPSTONE_PROVIDER_RATES; now
    every delivery reserves its slot with the provider."""
    ingest(engine, contact("c1", phone="+14155550101", first_name="Ann"))
    delivery = Delivery(engine, pace=Pace(engine, {"outbox-voice": 1000.0}))
    before = datetime.now(UTC)
    outcome = run(
        VoiceActivities(delivery, OutboxVoice(engine)).place_call,
        action(CALL.model_dump(mode="json")),
    )
    assert outcome.status == "done"
    reserved = next_free(engine, "outbox-voice")
    assert reserved is not None and reserved >= before


def test_a_providers_retry_after_on_a_team_email_holds_the_provider_back(engine):
    """Was: only send_email/send_sms passed a 429's Retry-After on to the shared pace."""
    ingest(engine, contact("c1", first_name="Ann"))
    step = {"id": "s", "kind": "notify_team", "message": "Lead {{ first_name }}"}
    with FakeProvider(Reply(429, {"errors": []}, {"Retry-After": "60"})) as sendgrid:
        activities = notifier(
            Delivery(engine),
            email=SendGridEmail("SG.key", sendgrid.url),
            team_email="team@example.com",
        )
        with pytest.raises(ApplicationError) as raised:
            run(activities.notify_team, action(step))
    assert raised.value.type == "ProviderUnavailable"
    held = next_free(engine, "sendgrid")
    assert held is not None and held > datetime.now(UTC) + timedelta(seconds=30)


def test_a_team_sms_records_its_segments_like_any_sms(engine):
    """Was: message.sent of a team SMS had no segments/encoding (what it is billed as)."""
    ingest(engine, contact("c1", first_name="Ann"))
    step = {
        "id": "s",
        "kind": "notify_team",
        "channel": "sms",
        "to": "+14155550188",
        "message": "Lead {{ first_name }} 👋",
    }
    run(notifier(Delivery(engine)).notify_team, action(step))
    [sent] = sent_payloads(engine)
    assert (sent["channel"], sent["segments"], sent["encoding"]) == ("team_sms", 1, "UCS-2")


def test_a_contact_email_without_an_at_sign_is_no_address(engine):
    """Was: notify_team refused an address without "@" but send_email handed the
    contact's to the provider; now both skip it as no_address."""
    ingest(engine, contact("c1", email="ann.example.com", first_name="Ann"))
    messaging = MessagingActivities(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "hello@example.com"
    )
    outcome = run(
        messaging.send_email,
        SendEmailRequest(
            idempotency_key="journey/f/c1/e1/hello/1",
            flow_id="f",
            step_id="hello",
            contact_id="c1",
            subject="Hi",
            body="Hello {{ first_name }}",
        ),
    )
    assert (outcome.status, outcome.reason_code) == ("skipped", "no_address")
    assert "ann.example.com" not in outcome.reason and outbox(engine) == []


def test_a_stop_from_another_holder_of_a_national_number_stops_the_call(engine):
    """The SMS rule for calls, with the region: the number's STOP was given by another
    contact who stored it in E.164; this contact keeps it in national form."""
    ingest(
        engine,
        contact("other", phone="+14155550104")
        + [event("other", EventType.UNSUBSCRIBED, {"channel": "sms"})],
    )
    ingest(engine, contact("c1", phone="(415) 555-0104", first_name="Di"))
    outcome = run(
        VoiceActivities(Delivery(engine, US), OutboxVoice(engine)).place_call,
        action(CALL.model_dump(mode="json")),
    )
    assert (outcome.status, outcome.reason_code) == ("skipped", "suppressed")
    assert outbox(engine) == []
