"""POST /v1/events and /v1/events/batch: stored once per event id, refused whole with
readable field paths, routed to journeys on a real (time-skipping) Temporal server."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from domain.journey import JourneyStatus
from projections.schema import events
from tests.api.v1_harness import async_client, form_flow, ok, sync_client
from tests.journey_harness import journey_result, journey_worker, outbox


@pytest.fixture
def client(settings, engine):
    with sync_client(settings, engine) as test_client:
        yield test_client


def stored(engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(events.c.event_id, events.c.type, events.c.contact_id).order_by(
                    events.c.position
                )
            )
        ]


def signup(
    event_id: str | None = "e1", contact_id: str = "c1", form_id: str = "newsletter"
) -> dict:
    event = {"type": "form.submitted", "contact_id": contact_id, "payload": {"form_id": form_id}}
    return {"event_id": event_id, **event} if event_id else event


def test_an_event_is_stored_once_however_often_it_is_sent(client, engine):
    first = ok(client.post("/v1/events", json=signup("e1")), 202)
    again = ok(client.post("/v1/events", json=signup("e1")), 202)
    assert first == {"event_id": "e1", "appended": True, "routed": []}
    assert again == {"event_id": "e1", "appended": False, "routed": []}
    assert stored(engine) == [("e1", "form.submitted", "c1")]


def test_an_event_without_an_id_gets_one_and_defaults_to_now(client, engine):
    before = datetime.now(UTC)
    accepted = ok(client.post("/v1/events", json=signup(None)), 202)
    assert accepted["event_id"].startswith("api-") and accepted["appended"]
    with engine.connect() as conn:
        occurred = conn.execute(select(events.c.occurred_at)).scalar_one()
        source = conn.execute(select(events.c.source)).scalar_one()
    assert before - timedelta(seconds=1) <= occurred.astimezone(UTC) <= datetime.now(UTC)
    assert source == "api"


@pytest.mark.parametrize(
    "body, loc, fragment",
    [
        (
            {"type": "form.submitted", "contact_id": "c1", "payload": {}},
            "payload.form_id",
            "required",
        ),
        (
            {"type": "form.submitted", "contact_id": "c1", "payload": {"form_id": "x", "extra": 1}},
            "payload.extra",
            "not permitted",
        ),
        ({"type": "form.sent", "contact_id": "c1"}, "type", "unknown event type 'form.sent'"),
        ({"type": "custom", "payload": {"name": "x"}}, "contact_id", "required"),
        (
            {"type": "custom", "contact_id": "ann@example.com", "payload": {"name": "x"}},
            "contact_id",
            "pattern",
        ),
        (
            {
                "type": "custom",
                "contact_id": "c1",
                "payload": {"name": "x"},
                "occurred_at": "2024-01-01T10:00:00",
            },
            "occurred_at",
            "timezone",
        ),
        (
            {
                "type": "custom",
                "contact_id": "c1",
                "payload": {"name": "x"},
                "occurred_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            },
            "occurred_at",
            "future",
        ),
        (
            {"type": "custom", "contact_id": "c1", "payload": {"name": "x"}, "contactId": "c2"},
            "contactId",
            "not permitted",
        ),
        (  # it could pass for a journey's own change and not reach that journey
            {
                "event_id": "journey:0b2916ca-d9b9-5bf4-bb04-a2e39ada958f.x",
                "type": "custom",
                "contact_id": "c1",
                "payload": {"name": "x"},
            },
            "event_id",
            "kept for the events journeys write",
        ),
    ],
)
def test_a_bad_event_is_refused_naming_its_field(client, engine, body, loc, fragment):
    response = client.post("/v1/events", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert [d["loc"] for d in detail] == [loc]
    assert fragment in detail[0]["msg"].lower() or fragment in detail[0]["msg"]
    assert stored(engine) == []


def test_a_body_that_is_not_an_event_is_refused_readably(client):
    not_json = client.post(
        "/v1/events", content=b'{"type": ', headers={"Content-Type": "application/json"}
    )
    a_list = client.post("/v1/events", json=[signup()])
    assert not_json.status_code == a_list.status_code == 422
    assert not_json.json()["detail"][0]["loc"] == "body"
    assert "not valid JSON" in not_json.json()["detail"][0]["msg"]
    assert a_list.json()["detail"][0]["loc"] == "body"


def test_a_batch_is_stored_and_reports_its_duplicates(client, engine):
    ok(client.post("/v1/events", json=signup("b0")), 202)
    batch = [signup("b0"), signup("b1", "c2"), signup("b2", "c3"), signup("b1", "c2")]
    accepted = ok(client.post("/v1/events/batch", json={"events": batch}), 202)
    assert accepted == {"received": 4, "appended": 2, "duplicates": ["b0", "b1"], "routed": []}
    assert [e for e, _, _ in stored(engine)] == ["b0", "b1", "b2"]


def test_one_bad_event_rejects_the_whole_batch_naming_each_path(client, engine):
    batch = [
        signup("ok0"),
        signup("ok1"),
        {
            "event_id": "bad2",
            "type": "form.submitted",
            "contact_id": "c1",
            "payload": {"from": "x"},
        },
        signup("ok3"),
        {"event_id": "bad4", "type": "page.visited", "contact_id": "c1", "payload": {"page": ""}},
    ]
    response = client.post("/v1/events/batch", json={"events": batch})
    assert response.status_code == 422, response.text
    assert [d["loc"] for d in response.json()["detail"]] == [
        "events[2].payload.form_id",
        "events[2].payload.from",
        "events[4].payload.page",
    ]
    assert stored(engine) == []


def test_batch_shape_errors_name_the_event_too(client, engine):
    response = client.post(
        "/v1/events/batch",
        json={
            "events": [
                signup("s0"),
                {
                    "event_id": "s1",
                    "type": "custom",
                    "contact_id": "has space",
                    "payload": {"name": "x"},
                },
            ]
        },
    )
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == ["events[1].contact_id"]
    empty = client.post("/v1/events/batch", json={"events": []})
    too_many = client.post(
        "/v1/events/batch", json={"events": [signup(f"m{i}") for i in range(1001)]}
    )
    assert [d["loc"] for d in empty.json()["detail"]] == ["events"]
    assert [d["loc"] for d in too_many.json()["detail"]] == ["events"]
    assert stored(engine) == []


async def test_an_event_starts_the_journeys_its_flow_triggers(time_skipping_env, engine, settings):
    env = time_skipping_env
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        ok(await api.put("/v1/contacts/api-ev-1", json={"email": "ev1@example.com"}))
        ok(await api.post("/v1/flows", json=form_flow("api-events-welcome")), 201)
        ok(
            await api.post("/v1/flows", json=form_flow("api-events-other", form_id="contact-us")),
            201,
        )
        for flow_id in ("api-events-welcome", "api-events-other"):
            ok(await api.post(f"/v1/flows/{flow_id}/publish"))

        accepted = ok(await api.post("/v1/events", json=signup("ev-1", "api-ev-1")), 202)
        assert accepted == {
            "event_id": "ev-1",
            "appended": True,
            "routed": [
                {
                    "event_id": "ev-1",
                    "flow_id": "api-events-welcome",
                    "workflow_id": "journey/api-events-welcome/api-ev-1",
                    "outcome": "enrolled",
                }
            ],
        }
        state = await journey_result(env, "journey/api-events-welcome/api-ev-1")
        # Sent again (a client's retry): stored once, so not routed again.
        again = ok(await api.post("/v1/events", json=signup("ev-1", "api-ev-1")), 202)
    assert state.status == JourneyStatus.COMPLETED
    assert again == {"event_id": "ev-1", "appended": False, "routed": []}
    assert [m.subject for m in outbox(engine, "api-ev-1")] == ["Hello from api-events-welcome"]


async def test_without_temporal_events_are_stored_but_not_routed(engine, settings):
    async with async_client(settings, engine) as api:
        ok(await api.post("/v1/flows", json=form_flow("api-no-temporal")), 201)
        ok(await api.post("/v1/flows/api-no-temporal/publish"))
        accepted = ok(await api.post("/v1/events/batch", json={"events": [signup("nt1")]}), 202)
    assert accepted == {"received": 1, "appended": 1, "duplicates": [], "routed": []}
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 1
