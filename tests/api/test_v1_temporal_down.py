"""The API with a Temporal client that cannot reach its server (connected lazily, as
`uvicorn --factory api.app:from_environment` does): events are still taken in and left
to the dispatcher; routes that need Temporal's answer say 503, not 500."""

import pytest
from sqlalchemy import select
from temporalio.client import Client

from codec.converter import data_converter
from projections.schema import event_dispatches
from settings import Settings as _Settings
from tests.api.v1_harness import async_client, form_flow, ok


@pytest.fixture
async def unreachable() -> Client:
    # Port 1 on loopback: nothing listens there, so every call is refused at once.
    return await Client.connect(
        "127.0.0.1:1", data_converter=data_converter(_Settings()), lazy=True
    )


async def test_events_are_stored_for_the_dispatcher_while_temporal_is_down(
    engine, settings, unreachable
):
    async with async_client(settings, engine, unreachable) as api:
        ok(await api.post("/v1/flows", json=form_flow("down-flow")), 201)
        ok(await api.post("/v1/flows/down-flow/publish"))
        accepted = ok(
            await api.post(
                "/v1/events",
                json={
                    "event_id": "down-1",
                    "type": "form.submitted",
                    "contact_id": "down-c1",
                    "payload": {"form_id": "newsletter"},
                },
            ),
            202,
        )
        journeys = await api.get("/v1/contacts/down-c1/journeys")
        enrollment = await api.post(
            "/v1/flows/down-flow/enrollments", json={"contact_id": "down-c1"}
        )
        control = await api.post("/v1/contacts/down-c1/journeys/down-flow/pause")
        operation = await api.get("/v1/operations/flow-control/down-flow/pause/x")
        paused = ok(await api.post("/v1/flows/down-flow/pause"))
    assert accepted == {"event_id": "down-1", "appended": True, "routed": []}
    with engine.connect() as conn:
        pending = conn.execute(
            select(event_dispatches.c.event_id, event_dispatches.c.attempts).where(
                event_dispatches.c.contact_id == "down-c1"
            )
        ).all()
    assert [(event_id, attempts >= 1) for event_id, attempts in pending] == [("down-1", True)]
    # Listed from the journey index, without Temporal: the start failed, so routing's
    # claim was dropped and the contact is in no journey yet (not a 503).
    assert ok(journeys)["journeys"] == []
    assert enrollment.status_code == operation.status_code == 503
    assert control.status_code == 404  # the index knows, without Temporal: no journey there
    assert operation.json() == {"detail": "Temporal is unreachable; retry later"}
    # The status changed all the same; the journeys could not be told.
    assert paused == {"flow_id": "down-flow", "status": "paused", "operation_id": None}


async def test_a_publish_whose_backfill_cannot_start_says_how_to_start_it(
    engine, settings, unreachable
):
    async with async_client(settings, engine, unreachable) as api:
        ok(await api.post("/v1/flows", json=form_flow("down-backfill")), 201)
        response = await api.post("/v1/flows/down-backfill/publish", json={"enroll_existing": True})
        flow = ok(await api.get("/v1/flows/down-backfill"))
    assert response.status_code == 503
    assert response.json()["detail"] == (
        "flow 'down-backfill' version 1 is published, but its backfill could not be started "
        "(Temporal did not take it); start it with POST /v1/flows/down-backfill/backfill"
    )
    assert (flow["status"], flow["current_version"]) == ("published", 1)
