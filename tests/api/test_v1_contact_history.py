"""GET /v1/contacts/{id}/events and /messages: newest first, paged by the answer's
`next`, 404 naming an unknown contact, the API key required. Messages are sent by the
real activities to the outbox providers (tests/contact_sends.py), so SMS segments and
encoding are what send_sms counted."""

import pytest

from activities import ledger
from projections.event_store import ingest
from tests.api.v1_harness import ok, sync_client
from tests.contact_sends import FAILED_KEY, GSM_SENT, seed_ann
from tests.journey_harness import contact


@pytest.fixture
def client(settings, engine):
    with sync_client(settings, engine) as test_client:
        yield test_client


def walk(client, path: str, field: str, limit: int) -> list[dict]:
    """Every item, page after page; each page no longer than `limit`."""
    items, cursor = [], None
    while True:
        page = ok(
            client.get(path, params={"limit": limit, **({"cursor": cursor} if cursor else {})})
        )
        assert len(page[field]) <= limit
        items += page[field]
        cursor = page["next"]
        if cursor is None:
            return items


def test_messages_are_listed_newest_first_with_what_was_recorded(client, engine):
    seed_ann(engine)
    page = ok(client.get("/v1/contacts/ann/messages"))
    assert page["next"] is None
    failed, ucs2, gsm, email = page["messages"]
    assert [m["message_key"] for m in page["messages"]] == [
        FAILED_KEY,
        "journey/welcome/ann/e1/ucs2/1",
        "journey/welcome/ann/e1/gsm/1",
        "journey/welcome/ann/e1/hello/1",
    ]
    assert (gsm["channel"], gsm["status"], gsm["flow_id"], gsm["step_id"]) == (
        "sms",
        "sent",
        "welcome",
        "gsm",
    )
    assert (gsm["text"], gsm["segments"], gsm["encoding"]) == (GSM_SENT, 1, "GSM-7")
    assert (ucs2["segments"], ucs2["encoding"]) == (2, "UCS-2")
    assert ucs2["text"].startswith("Hi Ann 👋 ") and ucs2["to"] == "+14155550101"
    assert ucs2["provider_message_id"].startswith("outbox-") and ucs2["sent_at"]
    assert (email["subject"], email["text"], email["segments"], email["encoding"]) == (
        "Welcome, Ann",
        "Glad you are here.",
        None,
        None,
    )
    assert (failed["status"], failed["detail"], failed["to"], failed["sent_at"]) == (
        "failed",
        "550 mailbox unavailable",
        None,
        None,
    )


def test_message_pages_follow_each_other_even_when_times_tie(client, engine):
    seed_ann(engine)
    # claim_many gives a whole batch (a mailing's) one created_at: the key breaks the tie.
    ledger.claim_many(engine, [(f"mailing/m1/step/ann/{i}", "email", "ann") for i in range(3)])
    whole = ok(client.get("/v1/contacts/ann/messages", params={"limit": 500}))["messages"]
    assert len(whole) == 7
    for limit in (1, 2, 3):
        assert walk(client, "/v1/contacts/ann/messages", "messages", limit) == whole
    assert [m["status"] for m in whole[:3]] == ["pending"] * 3
    created = [m["created_at"] for m in whole]
    assert created == sorted(created, reverse=True)


def test_a_message_sent_posted_from_outside_is_listed_from_the_read_model(client, engine):
    ingest(engine, contact("cy", phone="+14155550102"))
    ok(
        client.post(
            "/v1/events",
            json={
                "type": "message.sent",
                "contact_id": "cy",
                "payload": {
                    "channel": "sms",
                    "message_key": "crm-42",
                    "to": "+14155550102",
                    "provider_message_id": "SM42",
                    "segments": 3,
                    "encoding": "UCS-2",
                },
            },
        ),
        202,
    )
    [message] = ok(client.get("/v1/contacts/cy/messages"))["messages"]
    assert (message["message_key"], message["status"], message["attempts"]) == (
        "crm-42",
        "sent",
        None,
    )
    assert (message["segments"], message["encoding"], message["provider_message_id"]) == (
        3,
        "UCS-2",
        "SM42",
    )


def test_events_are_listed_newest_first_with_payloads(client, engine):
    seed_ann(engine)
    ok(client.put("/v1/contacts/ann", json={"attributes": {"plan": "team"}}))
    whole = ok(client.get("/v1/contacts/ann/events", params={"limit": 500}))
    assert whole["next"] is None
    types = [e["type"] for e in whole["events"]]
    assert types == [
        "contact.updated",
        "message.sent",
        "message.sent",
        "message.sent",
        "form.submitted",
        "subscription.started",
        "contact.tag_added",
        "contact.created",
    ]
    assert whole["events"][0]["payload"] == {"attributes": {"plan": "team"}}
    assert whole["events"][0]["source"] == "api"
    sms = whole["events"][1]["payload"]
    assert (sms["step_id"], sms["segments"], sms["encoding"]) == ("ucs2", 2, "UCS-2")
    assert ok(client.get("/v1/contacts/ann/events"))["events"] == whole["events"]  # default 50
    for limit in (1, 3, 7):
        assert walk(client, "/v1/contacts/ann/events", "events", limit) == whole["events"]


def test_unknown_contacts_bad_cursors_and_limits(client, engine):
    ingest(engine, contact("dee"))
    for tail in ("events", "messages"):
        missing = client.get(f"/v1/contacts/nobody/{tail}")
        assert missing.status_code == 404, missing.text
        assert missing.json()["detail"] == "there is no contact 'nobody'"
    assert ok(client.get("/v1/contacts/dee/messages")) == {"messages": [], "next": None}
    for tail in ("events", "messages"):
        for limit in (0, 501):
            refused = client.get(f"/v1/contacts/dee/{tail}", params={"limit": limit})
            assert refused.status_code == 422
            assert [d["loc"] for d in refused.json()["detail"]] == ["query.limit"]
        bad = client.get(f"/v1/contacts/dee/{tail}", params={"cursor": "not-a-cursor!"})
        assert bad.status_code == 422, bad.text
        assert [d["loc"] for d in bad.json()["detail"]] == ["query.cursor"]
    # A cursor of one list is refused by the other, never read as a position in it.
    seed_ann(engine)
    events_cursor = ok(client.get("/v1/contacts/ann/events", params={"limit": 1}))["next"]
    crossed = client.get("/v1/contacts/ann/messages", params={"cursor": events_cursor})
    assert crossed.status_code == 422 and "messages list" in crossed.json()["detail"][0]["msg"]


def test_the_history_needs_the_api_key(client, engine):
    seed_ann(engine)
    for tail in ("events", "messages"):
        for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong-key-0000000"}):
            refused = client.get(f"/v1/contacts/ann/{tail}", headers=headers)
            assert refused.status_code == 401, refused.text
            assert "ann" not in refused.text
