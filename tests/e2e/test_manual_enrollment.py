"""`dripstone enroll` through the real dev server: a contact the trigger's filters turn
away is enrolled by hand, and its journey runs."""

import asyncio

import pytest
from typer.testing import CliRunner

from cli.main import app
from projections.event_store import ingest
from projections.flow_catalogue import publish
from routing.journey_views import list_journeys
from tests.e2e.test_dev_server import _eventually
from tests.journey_harness import contact, event, flow_from, journey_worker

pytestmark = pytest.mark.devserver

VIP_ONLY = flow_from(
    {
        "id": "vip-welcome",
        "trigger": {"event": "form.submitted", "condition": {"kind": "has_tag", "tag": "vip"}},
        "steps": [
            {"id": "tag-manual", "kind": "add_tag", "tag": "enrolled-by-hand"},
            {"id": "wait-a-day", "kind": "wait", "delay": "1d"},
        ],
    }
)


async def test_manual_enrollment_bypasses_the_trigger_filter(
    dev_server_env, engine, settings, monkeypatch
):
    client = dev_server_env.client
    with engine.begin() as conn:
        publish(conn, VIP_ONLY)
    ingest(engine, contact("plain-1", email="plain@example.com"))
    signup = event("plain-1", "form.submitted", {"form_id": "newsletter"})
    ingest(engine, [signup])

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setenv("DRIPSTONE_TEMPORAL_NAMESPACE", client.namespace)
    monkeypatch.setenv("DRIPSTONE_TASK_QUEUE", settings.task_queue)

    async with journey_worker(client, engine, settings) as router:
        # The filter turns the contact away: no tag `vip`, so the event enrolls nobody.
        routed = await router.route([signup])
        assert routed == []

        # The CLI runs its own event loop, so it gets a thread of its own.
        result = await asyncio.to_thread(
            CliRunner().invoke, app, ["enroll", "vip-welcome", "plain-1"]
        )
        assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
        assert "enrolled contact 'plain-1' in flow 'vip-welcome'" in result.stdout
        assert "journey/vip-welcome/plain-1" in result.stdout

        async def waiting():
            rows = await list_journeys(client, contact_id="plain-1", flow_id="vip-welcome")
            return rows if rows and rows[0].status == "waiting" else None

        rows = await _eventually(waiting)
        assert rows, "the manually enrolled journey never reached its wait"
        assert rows[0].current_step == "wait-a-day"
        assert rows[0].trail[0].startswith("tag-manual")

        # re_entry is `never`: a second manual enrollment is refused, not a second journey.
        again = await asyncio.to_thread(
            CliRunner().invoke, app, ["enroll", "vip-welcome", "plain-1"]
        )
        assert again.exit_code == 2 and "already has a journey" in again.stderr
        await client.get_workflow_handle("journey/vip-welcome/plain-1").terminate("test over")
