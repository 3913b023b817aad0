"""End to end through the real Temporal dev server (`temporal server start-dev`):
an event goes in, a journey starts, the message lands in the outbox, and the journey
is found by its search attributes."""

import asyncio
from datetime import UTC, datetime

import pytest

from cli.dev_stack import SAMPLE_FLOW
from cli.flow_files import load_flow_file
from projections.flow_catalogue import publish
from routing.ingestion import ingest_raw
from routing.journey_views import list_journeys
from tests.journey_harness import journey_worker, outbox

pytestmark = pytest.mark.devserver


async def _eventually(probe, timeout: float = 30.0):
    """Visibility is eventually consistent; poll instead of sleeping a guessed amount."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.2)


async def test_event_starts_journey_which_sends_and_is_searchable(dev_server_env, engine, settings):
    flow, problems = load_flow_file(SAMPLE_FLOW)
    assert flow is not None and not problems
    with engine.begin() as conn:
        publish(conn, flow)
    now = datetime.now(UTC).isoformat()
    raw = [
        {
            "event_id": "e2e-created",
            "type": "contact.created",
            "contact_id": "e2e-1",
            "occurred_at": now,
            "payload": {"email": "e2e@example.com", "attributes": {"first_name": "Eve"}},
        },
        {
            "event_id": "e2e-signup",
            "type": "form.submitted",
            "contact_id": "e2e-1",
            "occurred_at": now,
            "payload": {"form_id": "newsletter"},
        },
    ]
    client = dev_server_env.client
    async with journey_worker(client, engine, settings) as router:
        appended, routed = await ingest_raw(engine, router, raw)
        assert len(appended) == 2
        assert [r.outcome for r in routed if r.outcome == "enrolled"] == ["enrolled"]

        async def parked():
            rows = await list_journeys(client, contact_id="e2e-1", flow_id="welcome")
            return rows if rows and rows[0].status == "waiting" else None

        rows = await _eventually(parked)
        assert rows, "the journey never reached its wait step"
        assert (rows[0].workflow_id, rows[0].current_step) == (
            "journey/welcome/e2e-1",
            "wait-2-days",
        )
        assert rows[0].flow_version == 1

        # Sending the same events again enrolls nobody twice.
        appended_again, routed_again = await ingest_raw(engine, router, raw)
        assert appended_again == [] and routed_again == []
        await client.get_workflow_handle("journey/welcome/e2e-1").terminate("test over")

    assert [m.subject for m in outbox(engine, "e2e-1")] == ["Welcome, Eve!"]
