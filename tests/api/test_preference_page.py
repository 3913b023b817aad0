"""The preference page and one-click unsubscribe over HTTP (the real app, no Temporal):
signed links, what a change stores, and what conditions then see."""

import base64
import time

import pytest
from cryptography.fernet import Fernet

from activities.preference_links import PreferenceLinks
from activities.suppression import topic_opt_outs
from domain.conditions import evaluate
from domain.predicates import Unsubscribed
from projections.contacts import load_snapshot
from projections.event_store import ingest
from projections.schema import events
from tests.api.http import TestClient
from tests.api.v1_harness import AUTH, keyed, ok
from tests.journey_harness import contact
from api.app import create_app
from sqlalchemy import select
from datetime import UTC, datetime, timedelta

KEY = Fernet.generate_key().decode()
PUBLIC = "https://mail.example.com"


@pytest.fixture
def configured(settings):
    return keyed(settings).model_copy(update={"preference_link_key": KEY,
                                              "preference_base_url": PUBLIC})


@pytest.fixture
def links(configured) -> PreferenceLinks:
    return PreferenceLinks.from_settings(configured)


@pytest.fixture
def browser(configured, engine):
    ingest(engine, contact("ann", email="ann@example.com"))
    # No API key: the signed link is the only right the page needs.
    return TestClient(create_app(configured, engine), base_url=PUBLIC)


def _path(url: str) -> str:
    return url.removeprefix(PUBLIC)


def _state(engine, topic: str, channel: str = "email") -> bool:
    with engine.connect() as conn:
        return "ann" in topic_opt_outs(conn, channel, topic, ["ann"])


def test_the_token_hides_the_contact(links):
    token = links.token("ann-contact-id", "newsletter")
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert b"ann" not in raw and b"newsletter" not in raw
    assert links.read(token).contact_id == "ann-contact-id"


def test_the_page_stores_each_change_as_an_event_conditions_see(browser, links, engine):
    page = _path(links.page_url("ann"))
    shown = browser.get(page)
    assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
    assert shown.text.count('type="checkbox"') == 4 * 2  # the default topics x email, sms
    assert "<script" not in shown.text
    everything = {f"{c}:{t}": "on" for c in ("email", "sms")
                  for t in ("general", "newsletter", "product-updates", "reminders")}
    del everything["email:newsletter"], everything["sms:reminders"]
    saved = browser.post(page, data={**everything, "action": "save"})
    assert saved.status_code == 200 and "Your choices are saved." in saved.text
    assert _state(engine, "newsletter") and _state(engine, "reminders", "sms")
    assert not _state(engine, "general")
    with engine.connect() as conn:
        stored = conn.execute(select(events.c.type, events.c.source, events.c.payload).where(
            events.c.type == "contact.preferences_changed")).all()
        snapshot = load_snapshot(conn, "ann")
    assert sorted((s.payload["topic"], s.payload["channel"], s.payload["subscribed"], s.source)
                  for s in stored) == [("newsletter", "email", False, "preference_page"),
                                       ("reminders", "sms", False, "preference_page")]
    now = datetime.now(UTC)
    assert evaluate(Unsubscribed(channel="email", topic="newsletter"), snapshot, now)
    assert not evaluate(Unsubscribed(channel="sms", topic="newsletter"), snapshot, now)
    assert not evaluate(Unsubscribed(channel="email"), snapshot, now)

    # Submitting the same choices again changes nothing and stores nothing.
    again = browser.post(page, data={**everything, "action": "save"})
    assert "Nothing changed." in again.text
    # Ticking the newsletter again opts back in.
    browser.post(page, data={**everything, "email:newsletter": "on", "action": "save"})
    assert not _state(engine, "newsletter")
    # The button that unsubscribes from everything.
    browser.post(page, data={"action": "none"})
    assert all(_state(engine, t, c) for t in ("general", "newsletter") for c in ("email", "sms"))


def test_one_click_leaves_the_message_topic_only(browser, links, engine):
    url = _path(links.unsubscribe_url("ann", "newsletter"))
    # RFC 8058: the mail provider posts this exact body, without cookies or a key.
    answer = browser.post(url, content=b"List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and "unsubscribed from Newsletter emails" in answer.text
    assert _state(engine, "newsletter") and not _state(engine, "general")
    assert not _state(engine, "newsletter", "sms")
    # Posted twice (providers retry): still one change.
    browser.post(url, content=b"List-Unsubscribe=One-Click")
    with engine.connect() as conn:
        assert len(conn.execute(select(events.c.event_id).where(
            events.c.type == "contact.preferences_changed")).all()) == 1
    # A GET (a link scanner, a client without one-click) only shows the page.
    shown = browser.get(url, follow_redirects=False)
    assert shown.status_code == 303 and shown.headers["location"].startswith("/preferences/")


def test_tampered_expired_and_foreign_links_are_refused(browser, links, engine):
    token = links.token("ann", "newsletter")
    tampered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    expired = links.token("ann", "newsletter", issued_at=int(time.time()) - 61 * 86400)
    foreign = PreferenceLinks(Fernet.generate_key().decode(), PUBLIC,
                              timedelta(days=60)).token("ann", "newsletter")
    for bad, status in ((tampered, 403), (expired, 410), (foreign, 403), ("nonsense", 403)):
        assert browser.get(f"/preferences/{bad}").status_code == status
        assert browser.post(f"/preferences/{bad}", data={"action": "none"}).status_code == status
        assert browser.post(f"/unsubscribe/{bad}",
                            content=b"List-Unsubscribe=One-Click").status_code == status
    assert "expired" in browser.get(f"/preferences/{expired}").text
    assert not _state(engine, "newsletter")


def test_without_a_link_key_the_page_is_off(settings, engine):
    client = TestClient(create_app(keyed(settings), engine))
    assert client.get("/preferences/anything").status_code == 404


def test_unknown_topics_are_refused_naming_the_field(configured, engine):
    client = TestClient(create_app(configured, engine), headers=AUTH)
    flow = {"id": "news", "trigger": {"event": "form.submitted"},
            "steps": [{"id": "mail", "kind": "send_email", "subject": "Hi", "body": "Hi",
                       "topic": "gossip"}, {"id": "text", "kind": "send_sms", "text": "Hi",
                                            "topic": "Bad Topic"}]}
    problems = ok(client.post("/v1/flows/validate", json=flow))["problems"]
    found = {(p["step_id"], p["field"], p["code"]) for p in problems}
    assert {("mail", "topic", "unknown_topic"), ("text", "topic", "invalid")} <= found
    mailing = {"id": "digest", "topic": "gossip",
               "steps": [{"id": "main", "channel": "email", "subject": "Hi", "body": "Hi"}]}
    answer = client.post("/v1/mailings/validate", json=mailing)
    assert "gossip" in answer.text and '"topic"' in answer.text
