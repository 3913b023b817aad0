"""One contact's journeys over HTTP: listed from the journey index (with or without
Temporal), and paused, resumed and stopped in one flow or in every flow, for a flow that
lets a contact in again and again (`re_entry: always`, so each journey id carries its
enrollment's suffix). A real worker on the time-skipping server."""

from datetime import UTC, datetime

import pytest

from domain.journey import JourneyStatus
from projections import journey_index as index
from projections.event_store import ingest
from tests.api.v1_harness import async_client, form_flow, ok, sync_client
from tests.journey_harness import contact, journey_result, journey_worker
from tests.workflows.live_journeys import at_step

FLOW = "api-again"


def waiting_flow() -> dict:
    flow = form_flow(FLOW, re_entry="always")
    flow["steps"] = [{"id": "hold", "kind": "wait", "delay": "30d"}, *flow["steps"]]
    return flow


async def sign_up(api, contact_id: str, event_id: str) -> str:
    """The trigger event; the journey it started (its id ends with the event's)."""
    accepted = ok(
        await api.post(
            "/v1/events",
            json={
                "event_id": event_id,
                "type": "form.submitted",
                "contact_id": contact_id,
                "payload": {"form_id": "newsletter"},
            },
        ),
        202,
    )
    # A journey already running hears the event too ("signalled"); the new one starts.
    [routed] = [r for r in accepted["routed"] if r["outcome"] == "enrolled"]
    assert routed["workflow_id"] == f"journey/{FLOW}/{contact_id}/{event_id}"
    return routed["workflow_id"]


async def statuses(api, contact_id: str) -> dict[str, str]:
    listed = ok(await api.get(f"/v1/contacts/{contact_id}/journeys", params={"details": "false"}))
    return {j["workflow_id"]: j["status"] for j in listed["journeys"]}


async def test_a_journey_is_paused_resumed_then_stopped_and_the_index_says_so(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        ok(await api.post("/v1/flows", json=waiting_flow()), 201)
        ok(await api.post("/v1/flows/api-again/publish"))
        ok(await api.put("/v1/contacts/jc-ann", json={"email": "ann@example.com"}))
        journey = await sign_up(api, "jc-ann", "jc-ann-signup-1")
        await at_step(env, journey, "hold")

        [listed] = ok(await api.get("/v1/contacts/jc-ann/journeys"))["journeys"]
        assert (
            listed["workflow_id"],
            listed["flow_id"],
            listed["flow_version"],
            listed["status"],
            listed["ended_at"],
        ) == (journey, FLOW, 1, "running", None)
        assert listed["started_at"]
        assert (listed["details"]["status"], listed["details"]["current_step"]) == (
            "waiting",
            "hold",
        )

        paused = ok(await api.post("/v1/contacts/jc-ann/journeys/api-again/pause"))
        assert paused == {
            "contact_id": "jc-ann",
            "flow_id": FLOW,
            "action": "pause",
            "journeys_signalled": 1,
        }
        await at_step(env, journey, "hold", JourneyStatus.PAUSED)
        assert await statuses(api, "jc-ann") == {journey: "paused"}

        resumed = ok(await api.post("/v1/contacts/jc-ann/journeys/api-again/resume"))
        assert resumed["journeys_signalled"] == 1
        await at_step(env, journey, "hold")
        assert await statuses(api, "jc-ann") == {journey: "running"}

        stopped = ok(
            await api.post(
                "/v1/contacts/jc-ann/journeys/api-again/stop", json={"reason": "asked to leave"}
            )
        )
        assert (stopped["action"], stopped["journeys_signalled"]) == ("stop", 1)
        state = await journey_result(env, journey)
        [ended] = ok(await api.get("/v1/contacts/jc-ann/journeys"))["journeys"]
        # Nothing live is left there: controlling it again is a 404.
        again = await api.post("/v1/contacts/jc-ann/journeys/api-again/pause")
    assert (state.status, state.exit_reason) == (JourneyStatus.EXITED, "stopped: asked to leave")
    assert (ended["status"], ended["details"]["status"]) == ("ended", "exited")
    assert ended["ended_at"] is not None
    assert again.status_code == 404
    assert again.json() == {"detail": "contact 'jc-ann' has no live journey in flow 'api-again'"}


async def test_every_journey_of_a_contact_is_held_and_stopped_at_once(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        ok(await api.post("/v1/flows", json=waiting_flow()), 201)
        ok(await api.post("/v1/flows/api-again/publish"))
        ok(await api.put("/v1/contacts/jc-bob", json={"email": "bob@example.com"}))
        journeys = [await sign_up(api, "jc-bob", f"jc-bob-signup-{n}") for n in (1, 2)]
        for journey in journeys:
            await at_step(env, journey, "hold")
        assert await statuses(api, "jc-bob") == dict.fromkeys(journeys, "running")

        paused = ok(await api.post("/v1/contacts/jc-bob/journeys/pause"))
        assert paused == {
            "contact_id": "jc-bob",
            "flow_id": None,
            "action": "pause",
            "journeys_signalled": 2,
        }
        for journey in journeys:
            await at_step(env, journey, "hold", JourneyStatus.PAUSED)
        assert await statuses(api, "jc-bob") == dict.fromkeys(journeys, "paused")

        stopped = ok(await api.post("/v1/contacts/jc-bob/journeys/stop", json={}))
        assert stopped["journeys_signalled"] == 2
        states = [await journey_result(env, journey) for journey in journeys]
        ended = await statuses(api, "jc-bob")
        # A known contact with nothing live left: 0, not an error.
        nothing = ok(await api.post("/v1/contacts/jc-bob/journeys/resume"))
    assert [(s.status, s.exit_reason) for s in states] == [
        (JourneyStatus.EXITED, "stopped: by request")
    ] * 2
    assert ended == dict.fromkeys(journeys, "ended")
    assert nothing["journeys_signalled"] == 0


@pytest.fixture
def client(settings, engine):
    with sync_client(settings, engine) as test_client:
        yield test_client


def test_journeys_are_listed_from_the_index_without_temporal(client, engine):
    ingest(engine, contact("jc-cy", email="cy@example.com"))
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for n in (1, 2):
            index.claim_start(
                conn,
                workflow_id=f"journey/{FLOW}/jc-cy/e{n}",
                contact_id="jc-cy",
                flow_id=FLOW,
                flow_version=n,
                enrollment_id=f"e{n}",
                now=now,
            )
        index.set_status(conn, [f"journey/{FLOW}/jc-cy/e1"], index.ENDED, now)
        index.set_status(conn, [f"journey/{FLOW}/jc-cy/e2"], index.PAUSED, now)
    listed = ok(client.get("/v1/contacts/jc-cy/journeys"))
    assert listed["contact_id"] == "jc-cy"
    assert sorted(
        (j["workflow_id"], j["flow_version"], j["status"], j["details"], j["ended_at"] is None)
        for j in listed["journeys"]
    ) == [
        (f"journey/{FLOW}/jc-cy/e1", 1, "ended", None, False),
        (f"journey/{FLOW}/jc-cy/e2", 2, "paused", None, True),
    ]
    # A contact with no journey yet: an empty list; no such contact: 404.
    ingest(engine, contact("jc-dee"))
    assert ok(client.get("/v1/contacts/jc-dee/journeys")) == {
        "contact_id": "jc-dee",
        "journeys": [],
    }
    missing = client.get("/v1/contacts/jc-nobody/journeys")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "there is no contact 'jc-nobody'"}


def test_control_needs_temporal_and_a_known_action(client):
    for path in (
        "/v1/contacts/jc-cy/journeys/api-again/pause",
        "/v1/contacts/jc-cy/journeys/stop",
        "/v1/operations/flow-control/api-again/pause/x",
    ):
        response = client.request("GET" if "operations" in path else "POST", path)
        assert response.status_code == 503, path
        assert response.json()["detail"].startswith("Temporal is not connected; cannot ")
    bad = client.post("/v1/contacts/jc-cy/journeys/api-again/freeze")
    assert bad.status_code == 422
    assert [d["loc"] for d in bad.json()["detail"]] == ["path.action"]
    extra = client.post("/v1/contacts/jc-cy/journeys/stop", json={"why": "typo"})
    assert extra.status_code == 422
