"""The async client against the real app in-process (httpx.ASGITransport), with a real
worker on the dev server where journeys matter: manual enrollment, one contact's journey
paused and resumed, flow control followed as an operation, an
audience preview and its backfill, partial contact updates, and retries that resend
the very same event (its id made by the client) so the store keeps it once."""

import asyncio
import json

import pytest
from sqlalchemy import select

from api.app import create_app
from domain.journey import JourneyStatus
from dripstone_client import (
    AsyncDripstone,
    Conflict,
    ConnectionFailed,
    Dripstone,
    NotFound,
    RetryPolicy,
    ServerError,
)
from projections.schema import events
from tests.client.harness import KEY, Faults, asgi, keyed, served_app
from tests.journey_harness import journey_result, journey_worker

FAST = RetryPolicy(retries=3, backoff=0.01)
PATIENT = {
    "id": "client-patient",
    "name": "Waits a month (client test)",
    "trigger": {"event": "form.submitted", "where": [{"path": "form_id", "value": "client-wait"}]},
    "steps": [
        {"id": "hold", "kind": "wait", "delay": "30d"},
        {"id": "mail", "kind": "send_email", "subject": "Much later", "body": "."},
    ],
}


def client_for(app, *faults, retry: RetryPolicy = FAST) -> tuple[AsyncDripstone, Faults]:
    transport = Faults(asgi(app), *faults)
    return AsyncDripstone("http://dripstone.test", KEY, transport=transport, retry=retry), transport


@pytest.mark.devserver
async def test_manual_enrollment_and_flow_control(dev_server_env, engine, settings):
    env = dev_server_env
    # In-process, the app runs on this loop and can share the test's Temporal client.
    dripstone, _ = client_for(create_app(keyed(settings), engine, env.client))
    async with journey_worker(env.client, engine, settings), dripstone:
        await dripstone.upsert_contact("cl-cy", email="cy@example.com")
        await dripstone.save_flow(PATIENT)
        await dripstone.publish_flow("client-patient", enroll_existing=False)

        enrolled = await dripstone.enroll("client-patient", "cl-cy")
        assert enrolled == {"workflow_id": "journey/client-patient/cl-cy", "outcome": "enrolled"}
        with pytest.raises(Conflict, match="re-entry policy"):
            await dripstone.enroll("client-patient", "cl-cy")
        with pytest.raises(NotFound, match="no contact 'cl-nobody'"):
            await dripstone.enroll("client-patient", "cl-nobody")

        for _ in range(100):  # the journey's own answer, once it sits at its wait
            journeys = (await dripstone.contact_journeys("cl-cy"))["journeys"]
            if journeys[0]["details"] and journeys[0]["details"]["current_step"] == "hold":
                break
            await asyncio.sleep(0.1)
        assert [(j["workflow_id"], j["status"], j["details"]["status"]) for j in journeys] == [
            ("journey/client-patient/cl-cy", "running", "waiting")
        ]

        paused = await dripstone.pause_journey("cl-cy", "client-patient")
        assert paused == {
            "contact_id": "cl-cy",
            "flow_id": "client-patient",
            "action": "pause",
            "journeys_signalled": 1,
        }
        listed = await dripstone.contact_journeys("cl-cy", details=False)
        assert [(j["status"], j["details"]) for j in listed["journeys"]] == [("paused", None)]
        resumed = await dripstone.resume_journey("cl-cy")  # every flow the contact is in
        assert (resumed["flow_id"], resumed["journeys_signalled"]) == (None, 1)
        with pytest.raises(NotFound, match="no live journey in flow 'client-other'"):
            await dripstone.stop_journey("cl-cy", "client-other")

        archived = await dripstone.archive_flow("client-patient")
        assert archived["status"] == "archived"
        for _ in range(200):
            progress = await dripstone.operation(archived["operation_id"])
            if progress["status"] == "completed":
                break
            await asyncio.sleep(0.05)
        assert (progress["signal"], progress["status"], progress["signalled"]) == (
            "stop",
            "completed",
            1,
        )
        state = await journey_result(env, enrolled["workflow_id"])
    assert (state.status, state.exit_reason) == (JourneyStatus.EXITED, "stopped: flow archived")


def event_ids(engine, contact_id: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(events.c.event_id).where(events.c.contact_id == contact_id)
            ).scalars()
        )


async def test_an_event_is_retried_under_its_own_id_and_stored_once(engine, settings):
    dripstone, wire = client_for(served_app(settings, engine), "refused", 503, "lost")
    async with dripstone:
        answer = await dripstone.send_event("custom", "cl-dee", {"name": "clicked"})
    sent = [json.loads(body)["event_id"] for body in wire.bodies]
    assert len(sent) == 4 and len(set(sent)) == 1  # one id, four attempts
    # The third attempt stored it; its answer was lost, so the fourth finds a duplicate.
    assert answer == {"event_id": sent[0], "appended": False, "routed": []}
    assert event_ids(engine, "cl-dee") == sent[:1]


async def test_a_batch_is_retried_whole_and_each_event_kept_once(engine, settings):
    dripstone, wire = client_for(served_app(settings, engine), "lost")
    async with dripstone:
        answer = await dripstone.send_events(
            [
                {"type": "custom", "contact_id": "cl-eve", "payload": {"name": f"step-{n}"}}
                for n in range(3)
            ]
        )
    assert len(wire.bodies) == 2 and wire.bodies[0] == wire.bodies[1]
    assert (answer["appended"], len(answer["duplicates"])) == (0, 3)
    assert len(event_ids(engine, "cl-eve")) == 3


async def test_calls_that_are_not_idempotent_are_never_resent(engine, settings):
    dripstone, wire = client_for(served_app(settings, engine), 503)
    async with dripstone:
        with pytest.raises(ServerError) as failed:
            await dripstone.save_flow(PATIENT)
        assert failed.value.status == 503 and len(wire.bodies) == 1
        saved = await dripstone.save_flow(PATIENT)  # nothing had reached the app
    assert saved["status"] == "draft"


def test_an_unreachable_server_fails_after_the_retries():
    # Port 9 (discard) on loopback: nothing listens there in the test environment.
    with Dripstone("http://127.0.0.1:9", KEY, retry=RetryPolicy(retries=2, backoff=0.01)) as d:
        with pytest.raises(ConnectionFailed, match="no answer after 3 attempt"):
            d.send_event("custom", "cl-fay", {"name": "x"})
        with pytest.raises(ConnectionFailed, match="after 1 attempt"):
            d.publish_flow("client-patient")


async def test_an_upsert_changes_only_the_fields_it_names(engine, settings):
    dripstone, _ = client_for(served_app(settings, engine))
    async with dripstone:
        created = await dripstone.upsert_contact(
            "cl-gus",
            email="gus@example.com",
            phone="+14155550123",
            attributes={"plan": "pro", "city": "Oslo"},
        )
        updated = await dripstone.upsert_contact("cl-gus", phone=None, attributes={"city": None})
        contact = await dripstone.get_contact("cl-gus")
    assert (created["type"], updated["type"]) == ("contact.created", "contact.updated")
    assert (contact["email"], contact["phone"], contact["attributes"]) == (
        "gus@example.com",
        None,
        {"plan": "pro"},
    )


@pytest.mark.devserver
async def test_an_audience_is_previewed_then_enrolled_by_a_backfill(
    dev_server_env, engine, settings
):
    env = dev_server_env
    flow = {
        "id": "client-existing",
        "name": "Existing signups (client test)",
        "trigger": {
            "event": "form.submitted",
            "where": [{"path": "form_id", "value": "client-old-form"}],
        },
        "steps": [{"id": "hello", "kind": "send_email", "subject": "Hello again", "body": "."}],
    }
    dripstone, _ = client_for(create_app(keyed(settings), engine, env.client))
    async with journey_worker(env.client, engine, settings), dripstone:
        for contact_id in ("cl-hal", "cl-ida", "cl-jon"):
            await dripstone.upsert_contact(contact_id, email=f"{contact_id}@example.com")
        await dripstone.send_events(
            [
                {
                    "type": "form.submitted",
                    "contact_id": c,
                    "payload": {"form_id": "client-old-form"},
                }
                for c in ("cl-hal", "cl-ida")
            ]
        )
        await dripstone.save_flow(flow)
        preview = await dripstone.audience("client-existing", version="draft", limit=1)
        assert (preview["count"], [c["contact_id"] for c in preview["contacts"]]) == (2, ["cl-hal"])

        published = await dripstone.publish_flow("client-existing", enroll_existing=False)
        assert published["backfill"] is None
        started = await dripstone.start_backfill("client-existing", rate_per_second=100)
        assert started["workflow_id"] == "backfill/client-existing/v1"
        for _ in range(200):
            progress = await dripstone.backfill_progress("client-existing")
            if progress["status"] != "running":
                break
            await asyncio.sleep(0.1)
    assert (progress["status"], progress["enrolled"]) == ("completed", 2)
