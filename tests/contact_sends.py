"""A contact with a history, made by the engine's own code: events stored through the
store, messages sent by the send_email / send_sms activities (run by Temporal's
ActivityEnvironment) to the outbox providers, and a send a provider refused, recorded
by the message ledger. For the contact history views (API, CLI, client)."""

import dataclasses

from temporalio.testing import ActivityEnvironment

from activities import ledger
from activities.messaging import MessagingActivities
from activities.outbox import Outbox
from domain.contracts.messaging import SendEmailRequest, SendSmsRequest
from domain.events import EventType
from projections.event_store import ingest
from tests.journey_harness import contact, event

GSM_TEXT = "Hi {{ first_name }}, your order has shipped."
GSM_SENT = "Hi Ann, your order has shipped."
# An emoji is outside GSM-7: UCS-2, 70 units a part, 67 once split (2 parts here).
UCS2_TEXT = "Hi {{ first_name }} 👋 " + "y" * 70
FAILED_KEY = "journey/welcome/ann/e1/reminder/1"


def _run(activities: MessagingActivities, method: str, request) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="journey/welcome/ann")
    outcome = env.run(getattr(activities, method), request)
    assert outcome.status == "sent", outcome


def _key(step_id: str) -> str:
    return f"journey/welcome/ann/e1/{step_id}/1"


def seed_ann(engine) -> None:
    """ann: created with tags and a plan, a form submitted; then, oldest first, an
    email, a GSM-7 SMS, a UCS-2 SMS, and an email the provider refused."""
    ingest(
        engine,
        contact(
            "ann",
            email="ann@example.com",
            phone="+14155550101",
            tags=("vip",),
            first_name="Ann",
            plan="pro",
        )
        + [
            event("ann", EventType.SUBSCRIPTION_STARTED, {"plan": "gold"}),
            event("ann", EventType.FORM_SUBMITTED, {"form_id": "newsletter"}),
        ],
    )
    activities = MessagingActivities(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "hello@example.com"
    )
    _run(
        activities,
        "send_email",
        SendEmailRequest(
            idempotency_key=_key("hello"),
            flow_id="welcome",
            step_id="hello",
            contact_id="ann",
            subject="Welcome, {{ first_name }}",
            body="Glad you are here.",
        ),
    )
    for step_id, text in (("gsm", GSM_TEXT), ("ucs2", UCS2_TEXT)):
        _run(
            activities,
            "send_sms",
            SendSmsRequest(
                idempotency_key=_key(step_id),
                flow_id="welcome",
                step_id=step_id,
                contact_id="ann",
                text=text,
            ),
        )
    ledger.claim(engine, FAILED_KEY, "email", "ann")
    ledger.record_failed(engine, FAILED_KEY, "550 mailbox unavailable")
