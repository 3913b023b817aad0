"""POST /v1/flows/{id}/migrations and GET .../migrations/{mid}: the dry run's plan, the
409 naming a waiting step with no place in the target, bad input naming its field, and a
migration followed to its end, behind the API key."""

import asyncio

from projections.event_store import ingest
from projections.flow_catalogue import publish
from tests.api.v1_harness import async_client, ok
from tests.journey_harness import contact, event, flow_from, journey_result, journey_worker, outbox
from tests.workflows.live_journeys import at_step

V1 = {
    "id": "api-mig",
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Welcome", "body": "."},
        {"id": "pause", "kind": "wait", "delay": "2d"},
        {"id": "bye", "kind": "send_email", "subject": "Bye v1", "body": "."},
    ],
}
V2 = {
    "id": "api-mig",
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Welcome", "body": "."},
        {"id": "rest", "kind": "wait", "delay": "2d"},
        {"id": "bye", "kind": "send_email", "subject": "Bye v2", "body": "."},
    ],
}
ROUTE = "/v1/flows/api-mig/migrations"


async def test_dry_run_refusal_and_a_mapped_migration_over_http(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    with engine.begin() as conn:
        v1 = publish(conn, flow_from(V1))
    ingest(engine, contact("am-1", email="am-1@example.com"))
    trigger = event("am-1", "form.submitted", {"form_id": "x"})
    ingest(engine, [trigger])
    async with journey_worker(env.client, engine, settings) as router:
        journey = (await router.enroll(v1, "am-1", trigger.event_id, trigger)).workflow_id
        await at_step(env, journey, "pause")
        with engine.begin() as conn:
            publish(conn, flow_from(V2))
        async with async_client(settings, engine, env.client) as http:
            unkeyed = await http.post(ROUTE, json={"to_version": 2}, headers={"Authorization": ""})
            assert unkeyed.status_code == 401
            bad = ok(
                await http.post(ROUTE, json={"to_version": 2, "map": {"pause": "nowhere"}}), 422
            )
            assert bad["detail"][0]["loc"] == "map" and "'nowhere'" in bad["detail"][0]["msg"]
            typo = ok(await http.post(ROUTE, json={"to_version": 2, "dryrun": True}), 422)
            assert [d["loc"] for d in typo["detail"]] == ["dryrun"], typo
            same = ok(await http.post(ROUTE, json={"to_version": 2, "from_version": 2}), 422)
            assert same["detail"][0]["loc"] == "from_version"
            ok(await http.post(ROUTE, json={"to_version": 9}), 404)
            plan = ok(await http.post(ROUTE, json={"to_version": 2, "dry_run": True}))["plan"]
            assert plan["refused"] and plan["moving"] == 0
            assert (plan["rows"][0]["step_id"], plan["rows"][0]["to_step"]) == ("pause", None)
            refused = ok(await http.post(ROUTE, json={"to_version": 2}), 409)
            assert "version 1 step 'pause' (1 journey(s) waiting)" in refused["detail"]

            started = ok(
                await http.post(ROUTE, json={"to_version": 2, "map": {"pause": "rest"}}), 202
            )
            assert (
                started["plan"]["moving"] == 1 and started["plan"]["rows"][0]["to_step"] == "rest"
            )
            mid = started["migration_id"]
            for _ in range(400):
                progress = ok(await http.get(f"{ROUTE}/{mid}"))
                if progress["status"] == "completed" and progress["still_on_old_versions"] == 0:
                    break
                await asyncio.sleep(0.05)
            assert (progress["signalled"], progress["still_on_old_versions"]) == (1, 0), progress
            ok(await http.get(f"{ROUTE}/0123abcd"), 404)
            ok(await http.get(f"{ROUTE}/not-a-migration"), 422)
        await at_step(env, journey, "rest")
        await journey_result(env, journey)
    assert [m.subject for m in outbox(engine, "am-1")] == ["Welcome", "Bye v2"]
