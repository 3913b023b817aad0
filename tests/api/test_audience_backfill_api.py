"""GET /v1/flows/{id}/audience and POST/GET /v1/flows/{id}/backfill through the real app
(with its API key), on the test's database and the time-skipping server."""

from contextlib import nullcontext

from domain.backfill import BackfillProgress
from projections.event_store import ingest
from projections.flow_lifecycle import publish_draft, save_draft
from tests.api.v1_harness import async_client, form_flow, ok, sync_client
from tests.journey_harness import contact, event, journey_worker


def signed_up(engine, *contact_ids: str, form_id: str = "newsletter") -> None:
    for contact_id in contact_ids:
        ingest(
            engine,
            [
                *contact(contact_id, email=f"{contact_id}@example.com"),
                event(contact_id, "form.submitted", {"form_id": form_id}),
            ],
        )


def test_the_draft_and_the_live_version_are_previewed(engine, settings):
    signed_up(engine, "au-1", "au-2", "au-3")
    signed_up(engine, "au-4", form_id="other")
    with engine.begin() as conn:
        save_draft(conn, form_flow("aud-api"))
    client = sync_client(settings, engine)
    refused = client.get("/v1/flows/aud-api/audience")
    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        "flow 'aud-api' has no published version yet; preview its draft with version=draft",
    )
    draft = ok(client.get("/v1/flows/aud-api/audience", params={"version": "draft", "limit": 2}))
    assert draft == {
        "flow_id": "aud-api",
        "version": None,
        "count": 3,
        "contacts": [
            {"contact_id": "au-1", "email": "au-1@example.com", "phone": None},
            {"contact_id": "au-2", "email": "au-2@example.com", "phone": None},
        ],
    }
    with engine.begin() as conn:
        publish_draft(conn, "aud-api")
    live = ok(client.get("/v1/flows/aud-api/audience"))
    assert (live["version"], live["count"], len(live["contacts"])) == (1, 3, 3)


def test_a_draft_with_errors_unknown_flows_and_bad_limits_are_refused(engine, settings):
    broken = form_flow("aud-broken")
    broken["steps"][0].pop("subject")
    with engine.begin() as conn:
        save_draft(conn, broken)
    client = sync_client(settings, engine)
    refused = client.get("/v1/flows/aud-broken/audience", params={"version": "draft"})
    assert refused.status_code == 409
    assert [(p["step_id"], p["field"]) for p in refused.json()["problems"]] == [
        ("hello", "subject")
    ]
    assert client.get("/v1/flows/nope/audience").status_code == 404
    assert client.get("/v1/flows/nope/backfill").status_code == 404
    bad = client.get("/v1/flows/aud-broken/audience", params={"limit": -1})
    assert (bad.status_code, bad.json()["detail"][0]["loc"]) == (422, "query.limit")
    # Without Temporal a backfill cannot start.
    with engine.begin() as conn:
        save_draft(conn, form_flow("aud-live"))
        publish_draft(conn, "aud-live")
    assert client.post("/v1/flows/aud-live/backfill").status_code == 503


async def test_a_backfill_is_started_followed_and_not_repeated(time_skipping_env, engine, settings):
    env = time_skipping_env
    signed_up(engine, "ab-1", "ab-2")
    with engine.begin() as conn:
        save_draft(conn, form_flow("api-bf"))
        publish_draft(conn, "api-bf")
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        assert (await api.get("/v1/flows/api-bf/backfill")).status_code == 404
        started = ok(await api.post("/v1/flows/api-bf/backfill", json={"rate_per_second": 5}), 202)
        assert (started["workflow_id"], started["version"]) == ("backfill/api-bf/v1", 1)
        handle = env.client.get_workflow_handle(
            started["workflow_id"], result_type=BackfillProgress
        )
        async with env.time_skipping_unlocked() if env.supports_time_skipping else nullcontext():
            await handle.result()
        done = ok(await api.get("/v1/flows/api-bf/backfill"))
        again = ok(await api.post("/v1/flows/api-bf/backfill"), 202)
        bad = await api.post("/v1/flows/api-bf/backfill", json={"rate_per_second": 0})
        for contact_id in ("ab-1", "ab-2"):  # finished before their worker stops
            await env.client.get_workflow_handle(f"journey/api-bf/{contact_id}").result()
    assert (done["status"], done["enrolled"], done["total"]) == ("completed", 2, 2)
    assert again == done
    assert (bad.status_code, bad.json()["detail"][0]["loc"]) == (422, "rate_per_second")
