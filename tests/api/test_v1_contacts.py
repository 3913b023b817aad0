"""PUT/GET /v1/contacts/{contact_id}: an upsert is a contact.created or contact.updated
event, stored and projected like any other; GET reads the read models back. A
contact's journeys come from the journey index, with what each reports of itself when
Temporal answers (dev server)."""

import pytest
from sqlalchemy import select

from projections.schema import events
from tests.api.v1_harness import async_client, form_flow, ok, sync_client
from tests.e2e.test_dev_server import _eventually
from tests.journey_harness import journey_worker


@pytest.fixture
def client(settings, engine):
    with sync_client(settings, engine) as test_client:
        yield test_client


def stored_types(engine, contact_id: str) -> list[tuple[str, dict]]:
    with engine.connect() as conn:
        return [
            (r.type, r.payload)
            for r in conn.execute(
                select(events.c.type, events.c.payload)
                .where(events.c.contact_id == contact_id)
                .order_by(events.c.position)
            )
        ]


def test_a_new_contact_is_created_then_updated(client, engine):
    created = ok(
        client.put(
            "/v1/contacts/ann",
            json={"email": "ann@example.com", "attributes": {"first_name": "Ann", "plan": "free"}},
        )
    )
    assert created["type"] == "contact.created" and created["appended"]
    assert created["event_id"].startswith("api-") and created["contact_id"] == "ann"
    updated = ok(
        client.put(
            "/v1/contacts/ann",
            json={"phone": "+14155550100", "attributes": {"plan": "pro", "first_name": None}},
        )
    )
    assert updated["type"] == "contact.updated" and updated["appended"]

    contact = ok(client.get("/v1/contacts/ann"))
    assert contact["contact_id"] == "ann"
    assert (contact["email"], contact["phone"]) == ("ann@example.com", "+14155550100")
    # first_name was cleared (null); plan changed; email and phone stay top-level only.
    assert contact["attributes"] == {"plan": "pro"}
    assert contact["tags"] == [] and contact["unsubscribed"] == []
    assert contact["created_at"] is not None
    assert stored_types(engine, "ann") == [
        (
            "contact.created",
            {"email": "ann@example.com", "attributes": {"first_name": "Ann", "plan": "free"}},
        ),
        (
            "contact.updated",
            {"phone": "+14155550100", "attributes": {"plan": "pro", "first_name": None}},
        ),
    ]


def test_an_upsert_with_an_event_id_is_applied_once(client, engine):
    body = {"email": "bo@example.com", "event_id": "crm-sync-1"}
    first = ok(client.put("/v1/contacts/bo", json=body))
    second = ok(client.put("/v1/contacts/bo", json=body))
    assert (first["appended"], second["appended"]) == (True, False)
    assert first["event_id"] == second["event_id"] == "crm-sync-1"
    assert [t for t, _ in stored_types(engine, "bo")] == ["contact.created"]


def test_what_other_events_did_shows_on_the_contact(client):
    ok(client.put("/v1/contacts/cy", json={"email": "cy@example.com"}))
    ok(
        client.post(
            "/v1/events/batch",
            json={
                "events": [
                    {"type": "contact.tag_added", "contact_id": "cy", "payload": {"tag": "vip"}},
                    {
                        "type": "contact.unsubscribed",
                        "contact_id": "cy",
                        "payload": {"channel": "sms"},
                    },
                    {
                        "type": "subscription.started",
                        "contact_id": "cy",
                        "payload": {"plan": "gold"},
                    },
                ]
            },
        ),
        202,
    )
    contact = ok(client.get("/v1/contacts/cy"))
    assert contact["tags"] == ["vip"]
    assert contact["unsubscribed"] == ["sms"]
    assert contact["subscriptions"] == {"gold": True}
    assert contact["unsubscribed_topics"] == {}


def test_topics_left_show_on_the_contact(client):
    """A preference page change (or one-click unsubscribe) leaves a topic on a channel:
    the contact shows it, as the console and the preference page read it."""
    ok(client.put("/v1/contacts/di", json={"email": "di@example.com"}))
    ok(
        client.post(
            "/v1/events/batch",
            json={
                "events": [
                    {
                        "type": "contact.preferences_changed",
                        "contact_id": "di",
                        "payload": {"topic": topic, "channel": channel, "subscribed": False},
                    }
                    for topic, channel in (
                        ("newsletter", "email"),
                        ("general", "email"),
                        ("newsletter", "sms"),
                    )
                ]
            },
        ),
        202,
    )
    contact = ok(client.get("/v1/contacts/di"))
    assert contact["unsubscribed_topics"] == {
        "email": ["general", "newsletter"],
        "sms": ["newsletter"],
    }
    assert contact["unsubscribed"] == []


def test_unknown_contacts_and_bad_bodies(client, engine):
    missing = client.get("/v1/contacts/nobody")
    assert missing.status_code == 404 and "nobody" in missing.json()["detail"]
    bad_id = client.get("/v1/contacts/has space")
    assert bad_id.status_code == 422
    assert [d["loc"] for d in bad_id.json()["detail"]] == ["path.contact_id"]
    bad_body = client.put(
        "/v1/contacts/dee",
        json={"email": "d@example.com", "tags": ["x"], "attributes": ["not", "a", "map"]},
    )
    assert bad_body.status_code == 422
    assert sorted(d["loc"] for d in bad_body.json()["detail"]) == ["attributes", "tags"]
    assert stored_types(engine, "dee") == []


def test_contact_journeys_are_listed_without_temporal(client):
    ok(client.put("/v1/contacts/eve", json={}))
    # From the journey index: no Temporal client, no worker needed.
    assert ok(client.get("/v1/contacts/eve/journeys")) == {"contact_id": "eve", "journeys": []}
    assert client.get("/v1/contacts/nobody/journeys").status_code == 404


@pytest.mark.devserver
async def test_a_contact_lists_its_journeys_with_their_state(dev_server_env, engine, settings):
    client = dev_server_env.client
    async with (
        journey_worker(client, engine, settings),
        async_client(settings, engine, client) as api,
    ):
        flow = form_flow("api-journeys-list")
        flow["steps"] = [
            {"id": "tag", "kind": "add_tag", "tag": "listed"},
            {"id": "hold", "kind": "wait", "delay": "30d"},
        ]
        ok(await api.post("/v1/flows", json=flow), 201)
        ok(await api.post("/v1/flows/api-journeys-list/publish"))
        ok(await api.put("/v1/contacts/api-jl-1", json={"email": "jl@example.com"}))
        assert ok(await api.get("/v1/contacts/api-jl-1/journeys")) == {
            "contact_id": "api-jl-1",
            "journeys": [],
        }
        routed = ok(
            await api.post(
                "/v1/events",
                json={
                    "type": "form.submitted",
                    "contact_id": "api-jl-1",
                    "payload": {"form_id": "newsletter"},
                },
            ),
            202,
        )["routed"]
        assert [r["outcome"] for r in routed] == ["enrolled"]

        async def parked():
            listed = ok(await api.get("/v1/contacts/api-jl-1/journeys"))["journeys"]
            details = listed[0]["details"] if listed else None
            return listed if details and details["status"] == "waiting" else None

        journeys = await _eventually(parked)
        await client.get_workflow_handle(routed[0]["workflow_id"]).terminate("test over")
        missing = await api.get("/v1/contacts/nobody/journeys")
    [journey] = journeys
    assert journey["started_at"]
    assert {k: v for k, v in journey.items() if k != "started_at"} == {
        "workflow_id": "journey/api-journeys-list/api-jl-1",
        "flow_id": "api-journeys-list",
        "flow_version": 1,
        "status": "running",
        "ended_at": None,
        "details": {
            "status": "waiting",
            "current_step": "hold",
            "exit_reason": None,
            "trail": [journey["details"]["trail"][0]],
            "trail_codes": ["done"],
            "retrying": None,
            "waiting": journey["details"]["waiting"],
        },
    }
    assert journey["details"]["trail"][0].startswith("tag")
    waiting = journey["details"]["waiting"]
    assert (waiting["step_id"], waiting["reason"], waiting["zone"]) == (
        "hold",
        "a delay of 4w2d",
        "UTC",
    )
    assert missing.status_code == 404


def test_a_national_phone_is_taken_where_the_deployment_names_its_region(settings, engine):
    for region, status in ((None, 422), ("US", 200)):
        configured = settings.model_copy(update={"phone_default_region": region})
        with sync_client(configured, engine) as client:
            answer = client.put("/v1/contacts/np-1", json={"phone": "(415) 555-0100"})
        assert answer.status_code == status, answer.text
