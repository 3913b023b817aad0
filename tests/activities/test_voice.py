"""The phone call step: TwiML from the call script, the real twilio SDK placing the call
against a local fake of the Calls API, and the test call."""

import pytest
from temporalio.testing import ActivityEnvironment

from activities.compose import MessagingOptions
from activities.delivery import Delivery
from activities.ports import ProviderRejected, ProviderUnavailable
from activities.twilio_voice import TwilioVoice
from activities.voice import VoiceActivities, place_test_call
from activities.voice_port import OutboxVoice
from domain.contracts.actions import ActionRequest
from domain.steps.messaging import PhoneCall
from projections.event_store import ingest
from tests.fakes.provider_http import FakeProvider, Reply, twilio_call
from tests.journey_harness import contact, event, outbox

ACCOUNT = "AC" + "5" * 32
STEP = PhoneCall.model_validate(
    {
        "id": "call",
        "kind": "phone_call",
        "record": True,
        "script": [
            {
                "action": "say",
                "text": "Hello {{ first_name }}, your order has shipped.",
                "voice": "alice",
            },
            {"action": "pause", "seconds": 2},
            {"action": "dial", "number": "+14155550199"},
            {"action": "record", "max_seconds": 30},
            {"action": "hangup"},
        ],
    }
)
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Say voice="alice">Hello Ann, your order has shipped.</Say><Pause length="2" />'
    '<Dial>+14155550199</Dial><Record maxLength="30" /><Hangup /></Response>'
)


def request(step: PhoneCall = STEP, contact_id: str = "c1") -> ActionRequest:
    return ActionRequest(
        idempotency_key=f"journey/calls/{contact_id}/e1/call/1",
        journey_id="j",
        flow_id="calls",
        step_id="call",
        contact_id=contact_id,
        step=step.model_dump(mode="json"),
    )


def test_twilio_call_carries_the_twiml(engine):
    ingest(engine, contact("c1", phone="+1 (415) 555-0101", first_name="Ann"))
    with FakeProvider(Reply(201, twilio_call())) as fake:
        voice = VoiceActivities(
            Delivery(engine), TwilioVoice(ACCOUNT, "secret", "+14155550000", fake.url)
        )
        outcome = ActivityEnvironment().run(voice.place_call, request())
        again = ActivityEnvironment().run(voice.place_call, request())
    [sent] = fake.requests  # the retry found the ledger entry and placed no second call
    assert (sent.method, sent.path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json")
    assert sent.form() == {
        "To": ["+14155550101"],
        "From": ["+14155550000"],
        "Twiml": [TWIML],
        "Record": ["true"],
    }
    assert outcome.status == "done" and outcome.data["provider_message_id"].startswith("CA")
    assert again.data["duplicate"] is True


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, ProviderRejected), (429, ProviderUnavailable), (500, ProviderUnavailable)],
)
def test_twilio_call_errors(status, error):
    with FakeProvider(
        Reply(status, {"code": 21211, "message": "Invalid 'To'", "status": status})
    ) as fake:
        with pytest.raises(error):
            place_test_call(
                Delivery(None),
                TwilioVoice(ACCOUNT, "secret", "+14155550000", fake.url),
                STEP.model_copy(update={"script": STEP.script[1:]}),
                "+14155550101",
            )


@pytest.mark.parametrize("phone", [None, "555-0101", "+1 234"])
def test_missing_or_invalid_phone_skips(engine, phone):
    ingest(engine, contact("c2", phone=phone, first_name="Bo"))
    outcome = ActivityEnvironment().run(
        VoiceActivities(Delivery(engine), OutboxVoice(engine)).place_call, request(contact_id="c2")
    )
    assert (outcome.status, outcome.reason_code) == ("skipped", "no_address")
    assert outbox(engine) == []


def test_outbox_is_the_embedded_default(engine):
    ingest(engine, contact("c1", phone="+14155550101", first_name="Ann"))
    ActivityEnvironment().run(
        VoiceActivities(Delivery(engine), OutboxVoice(engine)).place_call, request()
    )
    [row] = outbox(engine)
    assert (row.channel, row.to_address, row.body) == ("voice", "+14155550101", TWIML)


def test_test_call_goes_to_the_given_number(engine):
    ingest(engine, contact("c1", phone="+14155550101", first_name="Ann"))
    with FakeProvider(Reply(201, twilio_call())) as fake:
        caller = TwilioVoice(ACCOUNT, "secret", "+14155550000", fake.url)
        assert place_test_call(
            Delivery(engine), caller, STEP, "+44 20 7183 8750", contact_id="c1"
        ).startswith("CA")
        with pytest.raises(ValueError, match="to: 'call me' is not a valid phone number"):
            place_test_call(Delivery(engine), caller, STEP, "call me")
        # Without a contact only defaulted merge tags can be filled: refused, not sent raw.
        with pytest.raises(ValueError, match="missing merge value"):
            place_test_call(Delivery(engine), caller, STEP, "+14155550123")
    [sent] = fake.requests
    assert sent.form()["To"] == ["+442071838750"] and "Hello Ann" in sent.form()["Twiml"][0]


def test_a_national_number_is_called_with_the_deployments_region(engine):
    ingest(engine, contact("c3", phone="(415) 555-0101", first_name="Cy"))
    outcome = ActivityEnvironment().run(
        VoiceActivities(
            Delivery(engine, MessagingOptions(phone_default_region="US")), OutboxVoice(engine)
        ).place_call,
        request(contact_id="c3"),
    )
    assert outcome.status == "done", outcome
    assert [row.to_address for row in outbox(engine)] == ["+14155550101"]


def test_a_number_that_replied_stop_is_not_called(engine):
    ingest(engine, contact("c4", phone="+14155550104", first_name="Di"))
    ingest(engine, [event("c4", "sms.received", {"body": "STOP"})])
    outcome = ActivityEnvironment().run(
        VoiceActivities(Delivery(engine), OutboxVoice(engine)).place_call, request(contact_id="c4")
    )
    assert (outcome.status, outcome.reason_code) == ("skipped", "suppressed")
    assert outbox(engine) == []
