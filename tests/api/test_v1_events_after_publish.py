"""An event POSTed after `POST /v1/flows/{id}/publish` returned enrolls its contact,
even while a load of the catalogue that began before the publish (the dispatcher's
pass, another request's ingest) is still in flight and finishes in the middle of the
event's own routing. Real ingest path, real (time-skipping) Temporal, both lanes."""

import httpx

from api.app import create_app
from domain.journey import JourneyStatus
from tests.api.test_v1_events import signup
from tests.api.v1_harness import AUTH, form_flow, keyed, ok
from tests.journey_harness import journey_result, journey_worker, outbox
from tests.routing.held_load import held_load


async def test_an_event_after_publish_enrolls_though_an_older_load_lands_last(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    app = create_app(keyed(settings), engine, env.client)
    transport = httpx.ASGITransport(app=app)
    async with (
        journey_worker(env.client, engine, settings),
        httpx.AsyncClient(
            transport=transport, base_url="http://dripstone.test", headers=AUTH
        ) as api,
    ):
        ok(await api.put("/v1/contacts/race-1", json={"email": "race1@example.com"}))
        ok(await api.post("/v1/flows", json=form_flow("race-welcome")), 201)
        # The API's own router, as its dispatcher uses it: its load has read the
        # catalogue (nothing published yet) and lands only once the event below is
        # being stored, after that request's own, newer load.
        with held_load(engine, app.state.router.flows) as stale:
            ok(await api.post("/v1/flows/race-welcome/publish"))
            stale.release_when_an_event_is_stored()
            accepted = ok(await api.post("/v1/events", json=signup("race-e1", "race-1")), 202)
            assert stale.go.is_set()  # the older load did land mid-ingest
        assert accepted["routed"] == [
            {
                "event_id": "race-e1",
                "flow_id": "race-welcome",
                "workflow_id": "journey/race-welcome/race-1",
                "outcome": "enrolled",
            }
        ]
        state = await journey_result(env, "journey/race-welcome/race-1")
    assert state.status == JourneyStatus.COMPLETED
    assert [m.subject for m in outbox(engine, "race-1")] == ["Hello from race-welcome"]
