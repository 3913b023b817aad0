"""The preference page and one-click unsubscribe over HTTP (the real app, no Temporal):
signed links, what a change stores, and what conditions then see."""

import base64
import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from activities.preference_links import LinkClaims, LinkRefused, PreferenceLinks
from activities.suppression import topic_opt_outs
from api.app import create_app
from domain.conditions import evaluate
from domain.predicates import Unsubscribed
from projections.contacts import load_snapshot
from projections.event_store import ingest
from projections.schema import events
from tests.api.http import TestClient
from tests.api.v1_harness import AUTH, keyed, ok
from tests.journey_harness import contact

KEY = Fernet.generate_key().decode()
PUBLIC = "https://mail.example.com"


@pytest.fixture
def configured(settings):
    return keyed(settings).model_copy(
        update={"preference_link_key": KEY, "preference_base_url": PUBLIC}
    )


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


def _shown(page_html: str) -> list[str]:
    """The boxes the page showed, as its form posts them back (`shown`)."""
    return re.findall(r'name="shown" value="([^"]+)"', page_html)


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
    everything = {
        f"{c}:{t}": "on"
        for c in ("email", "sms")
        for t in ("general", "newsletter", "product-updates", "reminders")
    }
    del everything["email:newsletter"], everything["sms:reminders"]
    shown_boxes = _shown(shown.text)
    assert len(shown_boxes) == 4 * 2
    saved = browser.post(page, data={**everything, "shown": shown_boxes, "action": "save"})
    assert saved.status_code == 200 and "Your choices are saved." in saved.text
    assert _state(engine, "newsletter") and _state(engine, "reminders", "sms")
    assert not _state(engine, "general")
    with engine.connect() as conn:
        stored = conn.execute(
            select(events.c.type, events.c.source, events.c.payload).where(
                events.c.type == "contact.preferences_changed"
            )
        ).all()
        snapshot = load_snapshot(conn, "ann")
    assert sorted(
        (s.payload["topic"], s.payload["channel"], s.payload["subscribed"], s.source)
        for s in stored
    ) == [
        ("newsletter", "email", False, "preference_page"),
        ("reminders", "sms", False, "preference_page"),
    ]
    now = datetime.now(UTC)
    assert evaluate(Unsubscribed(channel="email", topic="newsletter"), snapshot, now)
    assert not evaluate(Unsubscribed(channel="sms", topic="newsletter"), snapshot, now)
    assert not evaluate(Unsubscribed(channel="email"), snapshot, now)

    # Submitting the same choices again changes nothing and stores nothing.
    again = browser.post(page, data={**everything, "shown": shown_boxes, "action": "save"})
    assert "Nothing changed." in again.text
    # Ticking the newsletter again opts back in.
    browser.post(
        page, data={**everything, "email:newsletter": "on", "shown": shown_boxes, "action": "save"}
    )
    assert not _state(engine, "newsletter")
    # The button that unsubscribes from everything.
    browser.post(page, data={"action": "none"})
    assert all(_state(engine, t, c) for t in ("general", "newsletter") for c in ("email", "sms"))


def _preference_events(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(
            select(events.c.payload).where(events.c.type == "contact.preferences_changed")
        ).all()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_form_post_changes_only_what_it_names(browser, links, engine):
    page = _path(links.page_url("ann"))
    # No fields at all (a bot, a truncated post): refused, naming why; nothing changes.
    for body in (b"", b"whatever=1", b"action=maybe"):
        refused = browser.post(page, content=body, headers=FORM)
        assert refused.status_code == 400 and "action=save" in refused.text, body
    # A field the page never shows is refused too, before anything is stored.
    odd = browser.post(
        page,
        data={"action": "save", "email:gossip": "on", "shown": ["email:gossip", "email:general"]},
    )
    assert odd.status_code == 400 and "email:gossip" in odd.text
    # Saving with no box named is refused rather than read as "everything off".
    assert browser.post(page, data={"action": "save"}).status_code == 400
    assert _preference_events(engine) == []
    # A form that shows (and unticks) one box changes that one only.
    browser.post(page, data={"action": "save", "shown": ["email:newsletter"]})
    assert _state(engine, "newsletter")
    assert not any(_state(engine, t, c) for t in ("general", "reminders") for c in ("email", "sms"))
    assert len(_preference_events(engine)) == 1


def test_one_click_posted_to_the_page_link_is_one_click(browser, links, engine):
    # The page link names no topic: one-click there leaves every topic by email, no more.
    answer = browser.post(
        _path(links.page_url("ann")), content=b"List-Unsubscribe=One-Click", headers=FORM
    )
    assert answer.status_code == 200 and "unsubscribed from" in answer.text
    assert all(_state(engine, t) for t in ("general", "newsletter", "reminders"))
    assert not any(_state(engine, t, "sms") for t in ("general", "newsletter"))


def test_one_click_needs_the_rfc_8058_body(browser, links, engine):
    url = _path(links.unsubscribe_url("ann", "newsletter"))
    for body in (b"", b"List-Unsubscribe=Yes", b"action=none"):
        refused = browser.post(url, content=body, headers=FORM)
        assert refused.status_code == 400 and "List-Unsubscribe=One-Click" in refused.text
    assert _preference_events(engine) == []
    # RFC 8058 allows multipart/form-data for the same body.
    answer = browser.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.status_code == 200 and _state(engine, "newsletter")
    assert not _state(engine, "general")


def test_one_click_leaves_the_message_topic_only(browser, links, engine):
    url = _path(links.unsubscribe_url("ann", "newsletter"))
    # RFC 8058: the mail provider posts this exact body, without cookies or a key.
    answer = browser.post(
        url,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200 and "unsubscribed from Newsletter emails" in answer.text
    assert _state(engine, "newsletter") and not _state(engine, "general")
    assert not _state(engine, "newsletter", "sms")
    # Posted twice (providers retry): still one change.
    browser.post(url, content=b"List-Unsubscribe=One-Click")
    with engine.connect() as conn:
        assert (
            len(
                conn.execute(
                    select(events.c.event_id).where(events.c.type == "contact.preferences_changed")
                ).all()
            )
            == 1
        )
    # A GET (a link scanner, a client without one-click) only shows the page.
    shown = browser.get(url, follow_redirects=False)
    assert shown.status_code == 303 and shown.headers["location"].startswith("/preferences/")


def test_tampered_expired_and_foreign_links_are_refused(browser, links, engine):
    token = links.token("ann", "newsletter")
    tampered = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    expired = links.token("ann", "newsletter", issued_at=int(time.time()) - 61 * 86400)
    foreign = PreferenceLinks(Fernet.generate_key().decode(), PUBLIC, timedelta(days=60)).token(
        "ann", "newsletter"
    )
    padded = links.token("ann", "newsletter")
    longer = [
        padded + "A",
        padded + "!",
        padded + "%20",
        padded + "==",
        padded + "=A",
        padded[:10] + "!" + padded[10:],
    ]
    assert browser.get(f"/preferences/{padded}").status_code == 200
    bad_ones = [
        (tampered, 403),
        (expired, 410),
        (foreign, 403),
        ("nonsense", 403),
        *((extra, 403) for extra in longer),
    ]
    for bad, status in bad_ones:
        assert browser.get(f"/preferences/{bad}").status_code == status
        assert (
            browser.post(f"/preferences/{bad}", data={"action": "none"}).status_code == status
        ), bad
        assert (
            browser.post(f"/unsubscribe/{bad}", content=b"List-Unsubscribe=One-Click").status_code
            == status
        )
    assert "expired" in browser.get(f"/preferences/{expired}").text
    assert not _state(engine, "newsletter")


def test_tokens_are_for_preferences_only(links):
    from activities.signed_tokens import PurposeTokens, TokenRefused

    other = PurposeTokens([KEY], "console-session")  # any other use of the same key
    with pytest.raises(LinkRefused):
        links.read(other.seal({"c": "ann"}))
    with pytest.raises(TokenRefused):
        other.open(links.token("ann"), 3600)
    # A token from before purposes (no purpose claim) is no token of any other use.
    with pytest.raises(TokenRefused):
        other.open(_legacy_token({"c": "ann"}), 3600)


def _legacy_token(claims: dict, issued_at: int | None = None) -> str:
    """A link as sent before tokens named a purpose (activities/preference_links.py at
    dd4a26c): the bare claims, compact JSON, under the link key."""
    data = json.dumps(claims, separators=(",", ":")).encode()
    fernet = Fernet(KEY.encode())
    return (
        fernet.encrypt(data) if issued_at is None else fernet.encrypt_at_time(data, issued_at)
    ).decode()


def test_links_sent_before_purposes_still_work_until_they_expire(browser, links, engine):
    page = _legacy_token({"c": "ann"})
    one_click = _legacy_token({"c": "ann", "t": "newsletter"})
    assert links.read(one_click) == LinkClaims(contact_id="ann", topic="newsletter")
    assert browser.get(f"/preferences/{page}").status_code == 200
    answer = browser.post(
        f"/unsubscribe/{one_click}", content=b"List-Unsubscribe=One-Click", headers=FORM
    )
    assert answer.status_code == 200 and _state(engine, "newsletter")
    # Their lifetime is the links' own: the window closes by itself.
    old = _legacy_token({"c": "ann"}, issued_at=int(time.time()) - 61 * 86400)
    assert browser.get(f"/preferences/{old}").status_code == 410


def test_keys_rotate_newest_first(configured, browser, engine):
    old_links = PreferenceLinks.from_settings(configured)
    old_link = _path(old_links.page_url("ann"))
    newest = Fernet.generate_key().decode()
    rotated = configured.model_copy(update={"preference_link_key": f"{newest}, {KEY}"})
    new_links = PreferenceLinks.from_settings(rotated)
    new_link = _path(new_links.page_url("ann"))
    # New links are made with the newest key alone.
    assert PreferenceLinks(newest, PUBLIC, timedelta(days=1)).read(new_link.split("/")[-1])
    with pytest.raises(LinkRefused):
        old_links.read(new_link.split("/")[-1])
    client = TestClient(create_app(rotated, engine), base_url=PUBLIC)
    assert client.get(old_link).status_code == 200 and client.get(new_link).status_code == 200
    # Once the old key is removed, its links stop working; the new ones go on.
    retired = TestClient(
        create_app(rotated.model_copy(update={"preference_link_key": newest}), engine),
        base_url=PUBLIC,
    )
    assert retired.get(old_link).status_code == 403 and retired.get(new_link).status_code == 200


def test_a_malformed_key_list_is_refused_naming_the_setting(settings):
    from pydantic import ValidationError

    from settings import Settings

    with pytest.raises(ValidationError, match="DRIPSTONE_PREFERENCE_LINK_KEY: key 2"):
        Settings(_env_file=None, data_dir=settings.data_dir, preference_link_key=f"{KEY},not-a-key")


def test_without_a_link_key_the_page_is_off(settings, engine):
    client = TestClient(create_app(keyed(settings), engine))
    assert client.get("/preferences/anything").status_code == 404


def test_unknown_topics_are_refused_naming_the_field(configured, engine):
    client = TestClient(create_app(configured, engine), headers=AUTH)
    flow = {
        "id": "news",
        "trigger": {"event": "form.submitted"},
        "steps": [
            {"id": "mail", "kind": "send_email", "subject": "Hi", "body": "Hi", "topic": "gossip"},
            {"id": "text", "kind": "send_sms", "text": "Hi", "topic": "Bad Topic"},
        ],
    }
    problems = ok(client.post("/v1/flows/validate", json=flow))["problems"]
    found = {(p["step_id"], p["field"], p["code"]) for p in problems}
    assert {("mail", "topic", "unknown_topic"), ("text", "topic", "invalid")} <= found
    mailing = {
        "id": "digest",
        "topic": "gossip",
        "steps": [{"id": "main", "channel": "email", "subject": "Hi", "body": "Hi"}],
    }
    answer = client.post("/v1/mailings/validate", json=mailing)
    assert "gossip" in answer.text and '"topic"' in answer.text


def test_preferences_url_is_refused_where_it_could_not_be_filled(settings, configured, engine):
    flow = {
        "id": "news",
        "trigger": {"event": "form.submitted"},
        "steps": [
            {
                "id": "mail",
                "kind": "send_email",
                "subject": "Hi",
                "body": "Choose: {{ preferences_url }}",
            }
        ],
    }
    mailing = {
        "id": "digest",
        "steps": [
            {"id": "main", "channel": "email", "subject": "Hi", "body": "{{ preferences_url }}"}
        ],
    }
    off = TestClient(create_app(keyed(settings), engine), headers=AUTH)
    answer = ok(off.post("/v1/flows/validate", json=flow))
    [problem] = answer["problems"]
    assert not answer["valid"] and (problem["field"], problem["code"]) == (
        "body",
        "preference_links_off",
    )
    assert "DRIPSTONE_PREFERENCE_LINK_KEY" in problem["message"]
    # Saved as a draft it cannot be published either (the user never sees it pass).
    ok(off.post("/v1/flows", json=flow), 201)
    refused = off.post("/v1/flows/news/publish")
    assert refused.status_code in (409, 422) and "preference_links_off" in refused.text
    mailed = off.post("/v1/mailings/validate", json=mailing).json()
    assert [(p["field"], p["code"]) for p in mailed["problems"]] == [
        ("steps.0.body", "preference_links_off")
    ]
    # With links configured it is valid in an email, and still refused in an SMS.
    on = TestClient(create_app(configured, engine), headers=AUTH)
    assert ok(on.post("/v1/flows/validate", json=flow))["valid"]
    assert ok(on.post("/v1/mailings/validate", json=mailing))["valid"]
    sms = {**flow, "steps": [{"id": "text", "kind": "send_sms", "text": "{{ preferences_url }}"}]}
    [problem] = ok(on.post("/v1/flows/validate", json=sms))["problems"]
    assert (problem["field"], problem["code"]) == ("text", "preference_link_not_email")
