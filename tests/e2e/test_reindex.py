"""`dripstone db reindex-journeys`: running journeys that the index does not know (started
before it existed) are found through visibility and recorded, so events reach them."""

import asyncio

import pytest
from sqlalchemy import delete

from projections import journey_index as index
from projections.flow_catalogue import publish
from projections.schema import journey_index
from routing.reindex import reindex_journeys
from tests.journey_harness import contact, event, flow_from, journey_worker, send

pytestmark = pytest.mark.devserver


async def test_reindex_finds_running_journeys_the_index_lost(dev_server_env, engine, settings):
    flow = flow_from(
        {
            "id": "reindexed",
            "re_entry": "always",
            "steps": [
                {"id": "reply", "kind": "wait_for_event", "event": "sms.received", "timeout": "1d"},
                {"id": "thanks", "kind": "send_email", "subject": "Thanks", "body": "."},
            ],
        }
    )
    with engine.begin() as conn:
        publish(conn, flow)
    client = dev_server_env.client
    async with journey_worker(client, engine, settings) as router:
        await send(router, engine, *contact("ri-1", email="ri-1@example.com"))
        [started] = [
            r
            for r in await send(router, engine, event("ri-1", "form.submitted", {"form_id": "x"}))
            if r.outcome == "enrolled"
        ]
        with engine.begin() as conn:
            conn.execute(delete(journey_index))
        # Lost from the index: an event reaches nobody.
        assert await send(router, engine, event("ri-1", "page.visited", {"page": "a"})) == []
        for _ in range(100):  # visibility is eventually consistent
            if await reindex_journeys(client, engine):
                break
            await asyncio.sleep(0.2)
        with engine.connect() as conn:
            [row] = index.for_contact(conn, "ri-1")
        assert (row.workflow_id, row.status, row.flow_version) == (
            started.workflow_id,
            "running",
            1,
        )
        routed = await send(router, engine, event("ri-1", "sms.received", {"body": "yes"}))
        assert [(r.workflow_id, r.outcome) for r in routed] == [(started.workflow_id, "signalled")]
        result = await client.get_workflow_handle(started.workflow_id).result()
    assert result["status"] == "completed"
