"""`dripstone journey pause|resume|stop` against the dev server with a real worker: one
contact's journeys in a flow that lets it in again and again (each journey id with its
enrollment's suffix), then every journey of the flow with --all, as a durable operation
whose progress is shown (the CLI runs in a thread, with its own event loop and client)."""

import asyncio
import re

import pytest

from domain.journey import JourneyStatus
from projections.event_store import ingest
from projections.flow_catalogue import publish
from tests.cli.test_flow_cli import dripstone  # noqa: F401  (the fixture)
from tests.journey_harness import contact, event, flow_from, journey_result, journey_worker
from tests.workflows.live_journeys import at_step


@pytest.mark.devserver
async def test_one_contact_then_every_journey_of_the_flow(
    dev_server_env, engine, settings, dripstone, monkeypatch
):  # noqa: F811
    env = dev_server_env
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("DRIPSTONE_TASK_QUEUE", settings.task_queue)
    flow = flow_from(
        {
            "id": "cli-again",
            "re_entry": "always",
            "steps": [
                {"id": "hold", "kind": "wait", "delay": "30d"},
                {"id": "mail", "kind": "send_email", "subject": "Much later", "body": "."},
            ],
        }
    )
    with engine.begin() as conn:
        published = publish(conn, flow)
    for contact_id in ("cli-j1", "cli-j2"):
        ingest(engine, contact(contact_id, email=f"{contact_id}@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        journeys = []
        for contact_id, signup in (("cli-j1", "a"), ("cli-j1", "b"), ("cli-j2", "c")):
            trigger = event(
                contact_id, "form.submitted", {"form_id": "signup"}, event_id=f"cli-signup-{signup}"
            )
            ingest(engine, [trigger])
            journeys.append(
                (await router.enroll(published, contact_id, trigger.event_id, trigger)).workflow_id
            )
        assert journeys[0] == "journey/cli-again/cli-j1/cli-signup-a"
        for journey in journeys:
            await at_step(env, journey, "hold")

        listed = await asyncio.to_thread(dripstone, "journeys", "cli-j1")
        paused = await asyncio.to_thread(dripstone, "journey", "pause", "cli-again", "cli-j1")
        for journey in journeys[:2]:
            await at_step(env, journey, "hold", JourneyStatus.PAUSED)
        await at_step(env, journeys[2], "hold")  # another contact: left alone
        resumed = await asyncio.to_thread(dripstone, "journey", "resume", "cli-again", "cli-j1")
        nobody = await asyncio.to_thread(
            dripstone, "journey", "pause", "cli-again", "cli-none", code=1
        )
        stopped = await asyncio.to_thread(
            dripstone, "journey", "stop", "cli-again", "--all", "--reason", "campaign over"
        )
        states = await asyncio.gather(*(journey_result(env, j) for j in journeys))
    # Where each journey is and until when, in the contact's zone (none: the default, UTC).
    assert listed.stdout.count("a delay of 4w2d until") == 2, listed.stdout
    # In UTC already, so the time is not repeated "(... UTC)" beside it.
    assert re.search(r"until \d{4}-\d\d-\d\d \d\d:\d\d UTC", listed.stdout), listed.stdout
    assert "UTC (" not in listed.stdout
    assert "pause sent to 2 journey(s) of contact 'cli-j1' in flow 'cli-again'" in paused.stdout
    assert "resume sent to 2 journey(s)" in resumed.stdout
    assert "contact 'cli-none' has no running journey in flow 'cli-again'" in nobody.stdout
    assert "stop of flow 'cli-again' running as flow-control/cli-again/stop/" in stopped.stdout
    assert "3/3" in stopped.stdout  # the bar, as last drawn
    assert "stop sent to 3 journey(s) of flow 'cli-again'" in stopped.stdout
    assert [(s.status, s.exit_reason) for s in states] == [
        (JourneyStatus.EXITED, "stopped: campaign over")
    ] * 3


def test_an_unreachable_temporal_says_how_to_retry(dripstone, monkeypatch):  # noqa: F811
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens there
    failed = dripstone("journey", "pause", "some-flow", "c-1", code=2)
    assert "could not reach Temporal at 127.0.0.1:1 to pause journeys" in failed.stderr
    assert "Retry with: dripstone journey pause some-flow c-1" in failed.stderr
    assert (
        "name one contact, or pass --all"
        in dripstone("journey", "stop", "some-flow", code=2).stderr
    )
    listing = dripstone("journeys", "c-1", code=1)
    assert "Temporal at 127.0.0.1:1 did not answer" in listing.stdout + listing.stderr
