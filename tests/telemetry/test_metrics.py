"""/metrics on the API and on the worker's health port: scraped before and after an
event goes through the real ingest path into a journey that sends an email, the
counters have moved by what happened, and no label carries a contact id or address."""

import asyncio
import uuid

import httpx

from health.server import probes
from tests.api.v1_harness import async_client, form_flow, ok
from tests.journey_harness import journey_result, journey_worker
from tests.telemetry.scrape import moved, samples, value


async def scrape(api) -> dict:
    response = await api.get("/metrics", headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_counters_move_after_an_event_reaches_a_journey_that_sends(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    flow_id, contact_id = f"metrics-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    async with (
        journey_worker(env.client, engine, settings),
        async_client(settings, engine, env.client) as api,
    ):
        ok(await api.put(f"/v1/contacts/{contact_id}", json={"email": "metrics@example.com"}))
        ok(await api.post("/v1/flows", json=form_flow(flow_id)), 201)
        ok(await api.post(f"/v1/flows/{flow_id}/publish"))
        before = await scrape(api)
        ok(
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
        await journey_result(env, f"journey/{flow_id}/{contact_id}")
        ok(
            await api.post(
                "/v1/events",
                json={  # a duplicate is counted as one
                    "event_id": "metrics-dup",
                    "type": "custom",
                    "contact_id": contact_id,
                    "payload": {"name": "seen"},
                },
            ),
            202,
        )
        ok(
            await api.post(
                "/v1/events",
                json={
                    "event_id": "metrics-dup",
                    "type": "custom",
                    "contact_id": contact_id,
                    "payload": {"name": "seen"},
                },
            ),
            202,
        )
        response = await api.get("/metrics")
        after = samples(response.text)

    def delta(name, **labels):
        return moved(before, after, name, **labels)

    assert delta("dripstone_events_ingested_total", type="form.submitted", result="appended") == 1
    assert delta("dripstone_events_ingested_total", type="custom", result="appended") == 1
    assert delta("dripstone_events_ingested_total", type="custom", result="duplicate") == 1
    assert delta("dripstone_events_routed_total", outcome="enrolled", path="fast") == 1
    assert delta("dripstone_routing_seconds_count", path="fast") >= 1
    assert delta("dripstone_journeys_started_total", by="event") == 1
    assert delta("dripstone_journeys_ended_total", status="completed") == 1
    assert delta("dripstone_sends_total", channel="email", outcome="sent") == 1
    assert (
        delta("dripstone_http_requests_total", route="/v1/events", method="POST", status="202") == 3
    )
    # Read from this test's own database when scraped.
    assert value(after, "dripstone_journeys", status="ended") == 1
    assert value(after, "dripstone_dispatch_backlog") == 0
    assert value(after, "dripstone_dead_letters_waiting") == 0
    # Route templates, never the paths sent: contact ids and addresses stay out.
    assert (
        value(
            after,
            "dripstone_http_requests_total",
            route="/v1/contacts/{contact_id}",
            method="PUT",
            status="200",
        )
        >= 1
    )
    assert contact_id not in response.text and "@" not in response.text


async def test_the_worker_serves_the_same_metrics_on_its_health_port(time_skipping_env, engine):
    app = probes(engine, time_skipping_env.client, asyncio.get_running_loop(), lambda: True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://worker.test"
    ) as health:
        response = await health.get("/metrics")
    assert response.status_code == 200
    scraped = samples(response.text)
    assert value(scraped, "dripstone_dispatch_backlog") == 0  # this database's, at scrape
    assert "# TYPE dripstone_sends_total counter" in response.text
    assert "# TYPE dripstone_provider_errors_total counter" in response.text


async def test_metrics_can_be_turned_off_on_the_api(engine, settings):
    async with async_client(settings.model_copy(update={"api_metrics": False}), engine) as api:
        assert (await api.get("/metrics")).status_code == 404
