"""Mailings name a topic: recipients who left it on the step's channel are skipped
(reason `unsubscribed`, with the topic in the detail) unless the mailing is
transactional; an SMS STOP holds for every mailing. Marketing emails sent in bulk carry
each recipient's own one-click unsubscribe, per SendGrid personalization."""

import re
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet
from sqlalchemy import select

from activities.compose import MessagingOptions
from activities.mailing_delivery import MailingDelivery
from activities.outbox import Outbox
from activities.preference_links import PreferenceLinks
from activities.sendgrid_email import SendGridEmail
from domain.mailing import Mailing
from projections.event_store import ingest
from projections.mailing_schema import mailing_recipients
from projections.schema import events
from tests.fakes.provider_http import FakeProvider, Reply
from tests.journey_harness import contact, event

LINKS = PreferenceLinks(
    Fernet.generate_key().decode(), "https://mail.example.com", timedelta(days=60)
)


def _people(engine) -> None:
    ingest(
        engine,
        [
            *contact("t-1", email="t1@example.com", phone="+14155550101"),
            *contact("t-2", email="t2@example.com", phone="+14155550102"),
            *contact("t-3", email="t3@example.com", phone="+14155550103"),
            event(
                "t-1",
                "contact.preferences_changed",
                {"topic": "newsletter", "channel": "email", "subscribed": False},
            ),
            event(
                "t-2",
                "contact.preferences_changed",
                {"topic": "general", "channel": "email", "subscribed": False},
            ),
            event(
                "t-2",
                "contact.preferences_changed",
                {"topic": "newsletter", "channel": "sms", "subscribed": False},
            ),
            event("t-3", "sms.received", {"body": "STOP"}),
        ],
    )


def _pending(engine, mailing_id: str, contact_ids=("t-1", "t-2", "t-3")) -> None:
    """The recipient rows the mailing workflow writes before a batch is sent."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            mailing_recipients.insert(),
            [
                {
                    "mailing_id": mailing_id,
                    "step_id": "main",
                    "contact_id": c,
                    "status": "pending",
                    "due_at": now,
                }
                for c in contact_ids
            ],
        )


def _details(engine, mailing_id: str) -> dict[str, str | None]:
    R = mailing_recipients.c
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(R.contact_id, R.detail).where(
                    R.mailing_id == mailing_id, R.status == "skipped"
                )
            ).all()
        )


def test_topic_opt_outs_skip_marketing_mailings_and_each_email_carries_its_links(engine):
    _people(engine)
    email = {
        "id": "news",
        "topic": "newsletter",
        "steps": [{"id": "main", "channel": "email", "subject": "News", "body": "Read on."}],
    }
    with FakeProvider(Reply(202, "", {"X-Message-Id": "sg-1"})) as sendgrid:
        delivery = MailingDelivery(
            engine,
            SendGridEmail("SG.key", sendgrid.url),
            Outbox(engine, "sms"),
            "news@example.com",
            MessagingOptions(links=LINKS),
        )
        mailing = Mailing.model_validate(email)
        _pending(engine, "news")
        result = delivery.deliver(mailing, mailing.steps[0], ["t-1", "t-2", "t-3"])
    assert (result.sent, result.skipped) == (2, {"unsubscribed": 1})
    assert _details(engine, "news") == {"t-1": "contact opted out of topic 'newsletter' on email"}
    # One request for both: the shared body names the link, each recipient gets their own.
    [request] = sendgrid.requests
    assert "unsubscribe: -dripstone-preferences-url-" in request.json()["content"][0]["value"]
    people = request.json()["personalizations"]
    assert len(people) == 2
    for person in people:
        [target] = re.findall(
            r"<https://mail\.example\.com/unsubscribe/([\w=-]+)>",
            person["headers"]["List-Unsubscribe"],
        )
        claims = LINKS.read(target)
        assert (claims.topic, person["to"][0]["email"]) == (
            "newsletter",
            f"{claims.contact_id}@example.com".replace("t-", "t"),
        )
        assert person["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        page = person["substitutions"]["-dripstone-preferences-url-"]
        assert LINKS.read(page.rsplit("/", 1)[1]).contact_id == claims.contact_id


def test_sms_topics_and_stop(engine):
    _people(engine)
    text = {
        "id": "texts",
        "topic": "newsletter",
        "steps": [{"id": "main", "channel": "sms", "text": "News!"}],
    }
    delivery = MailingDelivery(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "news@example.com"
    )
    mailing = Mailing.model_validate(text)
    _pending(engine, "texts")
    result = delivery.deliver(mailing, mailing.steps[0], ["t-1", "t-2", "t-3"])
    assert (result.sent, result.skipped) == (1, {"unsubscribed": 2})
    assert _details(engine, "texts") == {
        "t-2": "contact opted out of topic 'newsletter' on sms",
        "t-3": "contact unsubscribed from sms (replied STOP)",
    }
    # Transactional: topic opt-outs do not apply, a STOP still does.
    receipt = Mailing.model_validate({**text, "id": "receipt", "transactional": True})
    result = delivery.deliver(receipt, receipt.steps[0], ["t-1", "t-2", "t-3"])
    assert (result.sent, result.skipped) == (2, {"unsubscribed": 1})


def test_each_message_sent_says_its_topic_and_locale(engine):
    ingest(
        engine,
        [
            *contact("l-1", email="l1@example.com", phone="+14155550111", locale="pt-BR"),
            *contact("l-2", email="l2@example.com", phone="+14155550112"),
        ],
    )
    delivery = MailingDelivery(
        engine, Outbox(engine, "email"), Outbox(engine, "sms"), "news@example.com"
    )
    for channel, content, locale in (
        ("email", {"subject": "News", "body": "."}, {"subject": "Notícias"}),
        ("sms", {"text": "News"}, {"text": "Notícias"}),
    ):
        mailing = Mailing.model_validate(
            {
                "id": f"loc-{channel}",
                "topic": "newsletter",
                "steps": [{"id": "main", "channel": channel, **content, "locales": {"pt": locale}}],
            }
        )
        _pending(engine, mailing.id, ["l-1", "l-2"])
        delivery.deliver(mailing, mailing.steps[0], ["l-1", "l-2"])
    with engine.connect() as conn:
        said = {
            (p["channel"], p["message_key"].rsplit("/", 1)[-1]): (p["topic"], p.get("locale"))
            for p in conn.execute(
                select(events.c.payload).where(events.c.type == "message.sent")
            ).scalars()
        }
    assert said == {
        (c, who): ("newsletter", "pt" if who == "l-1" else None)
        for c in ("email", "sms")
        for who in ("l-1", "l-2")
    }
