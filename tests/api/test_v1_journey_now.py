"""Where a journey is now, over HTTP: why it waits and until when (in UTC and in the
contact's zone), and a step Temporal keeps retrying with its last error, so a failing
webhook does not look like a journey silently stuck. A real worker on the time-skipping
server; the webhook target a local HTTP receiver."""

import asyncio
from datetime import datetime, timedelta

from projections.event_store import ingest
from tests.api.v1_harness import async_client, form_flow, ok
from tests.fakes.webhook_target import Answer, WebhookTarget
from tests.journey_harness import contact, journey_result, journey_worker
from tests.workflows.live_journeys import at_step


async def sign_up(api, contact_id: str) -> str:
    accepted = ok(
        await api.post(
            "/v1/events",
            json={
                "type": "form.submitted",
                "contact_id": contact_id,
                "payload": {"form_id": "newsletter"},
            },
        ),
        202,
    )
    [routed] = [r for r in accepted["routed"] if r["outcome"] == "enrolled"]
    return routed["workflow_id"]


async def details(api, contact_id: str) -> dict:
    [journey] = ok(await api.get(f"/v1/contacts/{contact_id}/journeys"))["journeys"]
    return journey["details"]


async def test_a_waiting_journey_says_why_and_until_when_in_the_contacts_zone(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    flow = form_flow("wake-times")
    flow["steps"] = [
        {"id": "hold", "kind": "wait", "delay": "3d"},
        {"id": "morning", "kind": "wait", "time_of_day": {"at": "09:00"}},
        *flow["steps"],
    ]
    ingest(engine, contact("wt-tokyo", email="t@example.com", time_zone="Asia/Tokyo"))
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        ok(await api.post("/v1/flows", json=flow), 201)
        ok(await api.post("/v1/flows/wake-times/publish"))
        started = await env.get_current_time()
        journey = await sign_up(api, "wt-tokyo")
        await at_step(env, journey, "hold")
        waiting = (await details(api, "wt-tokyo"))["waiting"]
        ok(await api.post("/v1/contacts/wt-tokyo/journeys/stop"))
        await journey_result(env, journey)
    assert (waiting["step_id"], waiting["reason"], waiting["zone"]) == (
        "hold",
        "a delay of 3d",
        "Asia/Tokyo",
    )
    until = datetime.fromisoformat(waiting["until"])
    assert abs(until - (started + timedelta(days=3))) < timedelta(minutes=1)
    local = datetime.fromisoformat(waiting["until_local"])
    assert local == until and local.utcoffset() == timedelta(hours=9)


async def test_a_webhook_step_being_retried_shows_its_attempts_and_last_error(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    configured = settings.model_copy(update={"webhook_allow_private_targets": True})
    with WebhookTarget(Answer(503, {"error": "down for maintenance"})) as target:
        flow = form_flow("hook-retries")
        flow["steps"] = [
            {"id": "hook", "kind": "webhook", "url": f"{target.url}/in"},
            *flow["steps"],
        ]
        ingest(engine, contact("wr-ann", email="a@example.com"))
        async with (
            journey_worker(env.client, engine, configured),
            async_client(configured, engine, env.client) as api,
        ):
            ok(await api.post("/v1/flows", json=flow), 201)
            ok(await api.post("/v1/flows/hook-retries/publish"))
            journey = await sign_up(api, "wr-ann")
            retrying = None
            for _ in range(200):  # the first retry comes a second after the first failure
                retrying = (await details(api, "wr-ann") or {}).get("retrying")
                if retrying and retrying["attempt"] >= 2:
                    break
                await asyncio.sleep(0.05)
            target.default = Answer(200)  # the target recovers; the journey goes on
            state = await journey_result(env, journey)
    assert retrying is not None, "the journeys route never showed the retrying webhook"
    assert retrying["activity"] == "call_webhook" and retrying["attempt"] >= 2
    assert "503" in retrying["last_error"]
    assert state.trail[0].outcome == "webhook done"
