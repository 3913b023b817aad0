"""POST /webhooks/sendgrid/events: signed with a key made here, verified by the sendgrid
SDK's EventWebhook helper, stored as events, projected into read models."""

import json

import pytest
from sqlalchemy import func, select

from activities.suppression import email_suppression
from api.app import create_app
from domain.conditions import evaluate
from domain.events import EventType
from domain.predicates import ClickedLink, OpenedEmail, Unsubscribed
from projections.contacts import load_snapshot
from projections.event_store import ingest, read_contact
from projections.schema import channel_status, events
from tests.api.http import TestClient
from tests.api.signing import SendGridSigner, sendgrid_event
from tests.journey_harness import contact, event

KEY = "journey/welcome/c1/e1/hello/1"
OURS = {
    "contact_id": "c1",
    "idempotency_key": KEY,
    "flow_id": "welcome",
    "step_id": "hello",
    "journey_id": "journey/welcome/c1",
}


@pytest.fixture
def signer() -> SendGridSigner:
    return SendGridSigner()


@pytest.fixture
def client(engine, settings, signer):
    configured = settings.model_copy(update={"sendgrid_webhook_public_key": signer.public_key})
    with TestClient(create_app(configured, engine)) as test_client:
        yield test_client


def stored(engine, contact_id: str) -> list[tuple[str, str, dict]]:
    with engine.connect() as conn:
        return [
            (e.event_id, e.type, e.payload)
            for e in read_contact(conn, contact_id)
            if e.source == "sendgrid"
        ]


def snapshot(engine, contact_id: str):
    with engine.connect() as conn:
        return load_snapshot(conn, contact_id)


def test_delivered_open_and_click_come_back_attributed_by_our_custom_args(client, signer, engine):
    ingest(engine, contact("c1", email="ann@example.com"))
    response = signer.post(
        client,
        [
            sendgrid_event("delivered", "sg-d1", "ann@example.com", **OURS),
            sendgrid_event("open", "sg-o1", "ann@example.com", **OURS),
            sendgrid_event(
                "click", "sg-c1", "ann@example.com", url="https://example.com/a", **OURS
            ),
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 3, "duplicates": 0, "ignored": 0}
    attribution = {"message_key": KEY, "flow_id": "welcome", "step_id": "hello"}
    assert stored(engine, "c1") == [
        ("sendgrid:sg-d1", EventType.EMAIL_DELIVERED, attribution),
        ("sendgrid:sg-o1", EventType.EMAIL_OPENED, attribution),
        (
            "sendgrid:sg-c1",
            EventType.EMAIL_CLICKED,
            {**attribution, "url": "https://example.com/a"},
        ),
    ]
    contact_now = snapshot(engine, "c1")
    now = contact_now.created_at
    assert evaluate(OpenedEmail(flow_id="welcome", step_id="hello"), contact_now, now)
    assert evaluate(ClickedLink(flow_id="welcome", url="https://example.com/a"), contact_now, now)
    assert not evaluate(OpenedEmail(flow_id="welcome", step_id="other"), contact_now, now)


def test_bounce_spam_report_and_unsubscribes_update_channel_status(client, signer, engine):
    ingest(
        engine,
        contact("bo", email="bo@example.com")
        + contact("sp", email="SP@example.com")
        + contact("un", email="un@example.com")
        + contact("gr", email="gr@example.com"),
    )
    # No custom_args: messages sent by another system reach our contacts by address.
    response = signer.post(
        client,
        [
            sendgrid_event(
                "bounce",
                "sg-b1",
                "bo@example.com",
                type="bounce",
                reason="550 5.1.1 no such user",
                status="5.1.1",
            ),
            sendgrid_event("spamreport", "sg-s1", "sp@example.com"),
            sendgrid_event("unsubscribe", "sg-u1", "un@example.com"),
            sendgrid_event("group_unsubscribe", "sg-g1", "gr@example.com", asm_group_id=42),
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 5  # the spam report is also an unsubscribe
    assert [t for _, t, _ in stored(engine, "sp")] == [
        EventType.EMAIL_SPAM_REPORTED,
        EventType.UNSUBSCRIBED,
    ]
    with engine.connect() as conn:
        rows = {
            (r.contact_id, r.channel, r.list_id[:8], r.unsubscribed)
            for r in conn.execute(select(channel_status))
        }
        assert rows == {
            ("bo", "email", "bounced:", True),
            ("sp", "email", "", True),
            ("un", "email", "", True),
            ("gr", "email", "sendgrid", True),
        }
        # A bounce suppresses that address, but is not an opt-out...
        assert email_suppression(conn, "bo", "bo@example.com") == "the address bounced permanently"
        assert email_suppression(conn, "bo", "new-address@example.com") is None
        assert email_suppression(conn, "sp", "SP@example.com") == "contact unsubscribed from email"
        # ...and a group unsubscribe leaves the channel as a whole alone.
        assert email_suppression(conn, "gr", "gr@example.com") is None
    is_out = Unsubscribed(channel="email")
    assert [evaluate(is_out, snapshot(engine, c), None) for c in ("bo", "sp", "un", "gr")] == [
        False,
        True,
        True,
        False,
    ]


def test_a_redelivered_batch_appends_nothing_twice(client, signer, engine):
    ingest(engine, contact("c1", email="ann@example.com"))
    batch = [
        sendgrid_event("open", "sg-o1", "ann@example.com", **OURS),
        sendgrid_event("spamreport", "sg-s1", "ann@example.com", **OURS),
    ]
    first, again = signer.post(client, batch), signer.post(client, batch)
    assert first.json() == {"stored": 3, "duplicates": 0, "ignored": 0}
    assert again.json() == {"stored": 0, "duplicates": 3, "ignored": 0}
    assert len(stored(engine, "c1")) == 3


def test_events_we_do_not_use_or_cannot_place_are_acknowledged_and_ignored(client, signer, engine):
    ingest(engine, contact("c1", email="ann@example.com"))
    response = signer.post(
        client,
        [
            sendgrid_event("processed", "sg-p1", "ann@example.com", **OURS),
            sendgrid_event("open", "sg-o2", "stranger@example.com"),
            sendgrid_event("open", "sg-o3", "ann@example.com", test_send="true", **OURS),
            sendgrid_event("some_future_event", "sg-x1", "ann@example.com"),
        ],
    )
    assert response.json() == {"stored": 0, "duplicates": 0, "ignored": 4}


@pytest.mark.parametrize("tamper", ["body", "key", "missing"])
def test_a_bad_signature_is_refused_with_403_and_nothing_is_stored(client, signer, engine, tamper):
    ingest(engine, contact("c1", email="ann@example.com"))
    body = json.dumps([sendgrid_event("unsubscribe", "sg-u1", "ann@example.com", **OURS)]).encode()
    headers = (SendGridSigner() if tamper == "key" else signer).headers(body)
    if tamper == "body":
        body = body.replace(b"unsubscribe", b"open")
    if tamper == "missing":
        del headers["X-Twilio-Email-Event-Webhook-Signature"]
    response = client.post("/webhooks/sendgrid/events", content=body, headers=headers)
    assert response.status_code == 403
    expected = (
        "missing X-Twilio"
        if tamper == "missing"
        else "invalid X-Twilio-Email-Event-Webhook-Signature"
    )
    assert expected in response.json()["detail"]
    assert stored(engine, "c1") == []


def test_without_a_verification_key_webhooks_are_refused_with_503(engine, settings, signer):
    with TestClient(create_app(settings, engine)) as plain:
        response = signer.post(plain, [sendgrid_event("open", "sg-o1", "a@example.com")])
    assert response.status_code == 503
    assert "DRIPSTONE_SENDGRID_WEBHOOK_PUBLIC_KEY" in response.json()["detail"]


def test_a_malformed_body_is_400_naming_the_field(client, signer):
    body = b'{"event": "open"'
    response = client.post("/webhooks/sendgrid/events", content=body, headers=signer.headers(body))
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == "body"
    body = b'{"event": "open"}'
    response = client.post("/webhooks/sendgrid/events", content=body, headers=signer.headers(body))
    assert response.json()["detail"] == {
        "message": "body: must be a JSON array of events",
        "field": "body",
        "reason": "must be a JSON array of events",
    }


def test_valid_events_of_a_batch_are_kept_when_one_is_malformed(client, signer, engine):
    ingest(engine, contact("c1", email="ann@example.com"))
    bad_id = sendgrid_event("open", "x", "ann@example.com", **OURS)
    del bad_id["sg_event_id"]
    response = signer.post(
        client,
        [
            sendgrid_event("open", "sg-o1", "ann@example.com", **OURS),
            bad_id,
            sendgrid_event("click", "sg-c1", "ann@example.com", **OURS),  # no url
        ],
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail["stored"] == 1
    assert detail["rejected"] == [
        {"index": 1, "field": "sg_event_id", "reason": "required, a non-empty string"},
        {"index": 2, "field": "url", "reason": "required, a non-empty string"},
    ]
    assert [event_id for event_id, _, _ in stored(engine, "c1")] == ["sendgrid:sg-o1"]
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(events).where(events.c.source == "sendgrid")
            ).scalar()
            == 1
        )


def test_an_open_arriving_before_our_sent_record_is_still_attributed(client, signer, engine):
    # Only the message key came back (no flow/step): the sent message completes it.
    ingest(engine, contact("c1", email="ann@example.com"))
    signer.post(
        client,
        [sendgrid_event("open", "sg-o1", "ann@example.com", contact_id="c1", idempotency_key=KEY)],
    )
    ingest(
        engine,
        [
            event(
                "c1",
                EventType.MESSAGE_SENT,
                {
                    "channel": "email",
                    "message_key": KEY,
                    "flow_id": "welcome",
                    "step_id": "hello",
                    "to": "ann@example.com",
                },
            )
        ],
    )
    assert evaluate(OpenedEmail(flow_id="welcome", step_id="hello"), snapshot(engine, "c1"), None)


def test_a_verification_key_that_is_not_a_key_fails_at_start_up(engine, settings):
    broken = settings.model_copy(update={"sendgrid_webhook_public_key": "bm90IGEga2V5"})
    with pytest.raises(ValueError, match="DRIPSTONE_SENDGRID_WEBHOOK_PUBLIC_KEY is not a valid"):
        create_app(broken, engine)
