"""POST /webhooks/twilio/inbound and /webhooks/twilio/status, signed as Twilio signs
them (RequestValidator.compute_signature over the URL and sorted form parameters)."""

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from activities.suppression import sms_suppression
from api.app import create_app
from api.recipients import phone_contact_id
from domain.events import EventType
from domain.sms_keywords import keyword
from projections.contacts import load_snapshot
from projections.event_store import ingest, read_contact
from projections.schema import channel_status
from tests.api.http import TestClient
from tests.api.signing import TWILIO_TOKEN, twilio_post
from tests.journey_harness import contact, event

ANN = "+14155550101"
SID = "SM" + "a" * 32


@pytest.fixture
def client(engine, settings):
    configured = settings.model_copy(
        update={
            "twilio_auth_token": TWILIO_TOKEN,
            "sms_help_text": "Acme alerts. Reply STOP to stop.",
        }
    )
    with TestClient(create_app(configured, engine)) as test_client:
        yield test_client


def inbound(client, body: str, sid: str = SID, sender: str = ANN, **extra):
    return twilio_post(
        client,
        "/webhooks/twilio/inbound",
        {
            "MessageSid": sid,
            "AccountSid": "AC" + "1" * 32,
            "From": sender,
            "To": "+14155550000",
            "Body": body,
            "NumMedia": "0",
            **extra,
        },
    )


def twilio_events(engine, contact_id: str) -> list[tuple[str, str, dict]]:
    with engine.connect() as conn:
        return [
            (e.event_id, e.type, e.payload)
            for e in read_contact(conn, contact_id)
            if e.source == "twilio"
        ]


def sms_opted_out(engine, contact_id: str) -> bool | None:
    with engine.connect() as conn:
        return conn.execute(
            select(channel_status.c.unsubscribed).where(
                channel_status.c.contact_id == contact_id,
                channel_status.c.channel == "sms",
                channel_status.c.list_id == "",
            )
        ).scalar()


def test_a_reply_is_recorded_on_the_contact_holding_the_number(client, engine):
    ingest(engine, contact("ann", phone=ANN))
    response = inbound(client, "Yes please, Tuesday works")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Message>" not in response.text  # nothing to answer
    assert twilio_events(engine, "ann") == [
        (
            f"twilio:{SID}",
            EventType.SMS_RECEIVED,
            {"body": "Yes please, Tuesday works", "from_number": ANN},
        )
    ]
    with engine.connect() as conn:
        assert load_snapshot(conn, "ann", {"contact"}).last_reply == "Yes please, Tuesday works"


def test_stop_unsubscribes_from_sms_and_start_resubscribes(client, engine):
    ingest(engine, contact("ann", phone=ANN))
    assert inbound(client, " stop ").status_code == 200
    assert [t for _, t, _ in twilio_events(engine, "ann")] == [
        EventType.SMS_RECEIVED,
        EventType.UNSUBSCRIBED,
    ]
    assert sms_opted_out(engine, "ann") is True
    with engine.connect() as conn:
        assert sms_suppression(conn, "ann", [ANN]) is not None
    inbound(client, "START", sid="SM" + "b" * 32)
    assert sms_opted_out(engine, "ann") is False


def test_help_is_recorded_and_answered_with_the_configured_text(client, engine):
    ingest(engine, contact("ann", phone=ANN))
    response = inbound(client, "help")
    assert response.text.endswith(
        "<Response><Message>Acme alerts. Reply STOP to stop.</Message></Response>"
    )
    assert [t for _, t, _ in twilio_events(engine, "ann")] == [EventType.SMS_RECEIVED]
    assert sms_opted_out(engine, "ann") is None


def test_a_redelivered_inbound_message_is_stored_once(client, engine):
    ingest(engine, contact("ann", phone=ANN))
    inbound(client, "STOP")
    inbound(client, "STOP")
    assert len(twilio_events(engine, "ann")) == 2


def test_an_unknown_number_gets_a_contact_derived_from_it(client, engine):
    stranger = "+14155550199"
    inbound(client, "STOP", sender=stranger)
    contact_id = phone_contact_id(stranger)
    assert contact_id.startswith("sms-") and "555" not in contact_id
    assert [t for _, t, _ in twilio_events(engine, contact_id)] == [
        EventType.CONTACT_CREATED,
        EventType.SMS_RECEIVED,
        EventType.UNSUBSCRIBED,
    ]
    # The opt-out belongs to the number: a contact added later with it stays suppressed.
    ingest(engine, contact("later", phone=stranger))
    with engine.connect() as conn:
        assert load_snapshot(conn, contact_id).phone == stranger
        assert sms_suppression(conn, "later", [stranger]) is not None


@pytest.mark.parametrize(
    ("body", "opt_out_type", "expected"),
    [
        ("STOP", None, "STOP"),
        ("Unsubscribe.", None, "STOP"),
        ("stopall", None, "STOP"),
        ("please stop texting", None, None),
        ("yes", None, "START"),
        ("Unstop", None, "START"),
        ("info", None, "HELP"),
        ("arrêt", "STOP", "STOP"),
        ("", None, None),
    ],
)
def test_keywords(body, opt_out_type, expected):
    assert keyword(body, opt_out_type) == expected


def test_status_callbacks_are_attributed_to_the_message_we_sent(client, engine):
    ingest(
        engine,
        contact("ann", phone=ANN)
        + [
            event(
                "ann",
                EventType.MESSAGE_SENT,
                {
                    "channel": "sms",
                    "message_key": "journey/f/ann/e/text/1",
                    "flow_id": "f",
                    "step_id": "text",
                    "to": ANN,
                    "provider_message_id": SID,
                    "segments": 1,
                },
            )
        ],
    )
    for status in ("queued", "sent", "delivered", "delivered"):
        response = twilio_post(
            client,
            "/webhooks/twilio/status",
            {"MessageSid": SID, "MessageStatus": status, "To": ANN, "From": "+14155550000"},
        )
        assert response.status_code == 200
    assert twilio_events(engine, "ann") == [
        (
            f"twilio:{SID}:status:{s}",
            EventType.SMS_STATUS_CHANGED,
            {
                "message_sid": SID,
                "status": s,
                "message_key": "journey/f/ann/e/text/1",
                "flow_id": "f",
                "step_id": "text",
            },
        )
        for s in ("queued", "sent", "delivered")
    ]


def test_a_carrier_opt_out_error_unsubscribes_the_number(client, engine):
    ingest(engine, contact("ann", phone=ANN))
    twilio_post(
        client,
        "/webhooks/twilio/status",
        {"MessageSid": SID, "MessageStatus": "undelivered", "ErrorCode": "21610", "To": ANN},
    )
    assert [t for _, t, _ in twilio_events(engine, "ann")] == [
        EventType.SMS_STATUS_CHANGED,
        EventType.UNSUBSCRIBED,
    ]
    assert sms_opted_out(engine, "ann") is True


@pytest.mark.parametrize("path", ["/webhooks/twilio/inbound", "/webhooks/twilio/status"])
def test_a_bad_signature_is_refused_with_403(client, engine, path):
    ingest(engine, contact("ann", phone=ANN))
    form = {"MessageSid": SID, "From": ANN, "Body": "STOP", "MessageStatus": "sent"}
    response = twilio_post(client, path, form, token="someone-elses-token")
    assert response.status_code == 403
    assert "invalid X-Twilio-Signature" in response.json()["detail"]
    assert client.post(path, data=form).json() == {"detail": "missing X-Twilio-Signature header"}
    assert twilio_events(engine, "ann") == []


def test_a_malformed_form_is_400_naming_the_field(client):
    response = twilio_post(client, "/webhooks/twilio/inbound", {"MessageSid": SID, "Body": "hi"})
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == "From"
    response = twilio_post(
        client,
        "/webhooks/twilio/inbound",
        {"MessageSid": SID, "Body": "hi", "From": "not a number"},
    )
    assert response.json()["detail"]["field"] == "From"
    response = twilio_post(client, "/webhooks/twilio/status", {"MessageSid": SID})
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == "MessageStatus"


def test_signatures_are_checked_against_the_public_url_behind_a_proxy(engine, settings):
    configured = settings.model_copy(
        update={
            "twilio_auth_token": TWILIO_TOKEN,
            "webhook_public_base_url": "https://hooks.example.com/",
        }
    )
    ingest(engine, contact("ann", phone=ANN))
    with TestClient(create_app(configured, engine)) as proxied:
        form = {"MessageSid": SID, "From": ANN, "Body": "hello"}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(
            "https://hooks.example.com/webhooks/twilio/inbound", form
        )
        response = proxied.post(
            "/webhooks/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature}
        )
        assert response.status_code == 200, response.text
        assert twilio_post(proxied, "/webhooks/twilio/inbound", form).status_code == 403
