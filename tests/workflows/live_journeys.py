"""Helpers for tests that talk to a journey while it runs: start it, wait until it sits
at a step, send it events and signals."""

import asyncio
from datetime import timedelta

from temporalio.service import RPCError

from domain.flow import Flow
from domain.journey import JourneyState, JourneyStatus
from projections.event_store import ingest
from projections.flow_catalogue import publish
from routing.ingestion import ingest_events
from routing.router import Router
from tests.journey_harness import event


async def start(
    router: Router, engine, flow: Flow, contact_id: str, *, allow_private_targets: bool = False
) -> str:
    """Publish the flow and enroll the contact in it with a stored trigger event; the
    journey's id. Enrolled directly, so flows published earlier in the same test with the
    same trigger do not pick the contact up too (their journeys would outlive the test
    and hold the shared time-skipping server's clock). `allow_private_targets`: the
    deployment's webhook_allow_private_targets, as publishing takes it."""
    with engine.begin() as conn:
        published = publish(conn, flow, allow_private_targets=allow_private_targets)
    trigger = event(contact_id, "form.submitted", {"form_id": "signup"})
    ingest(engine, [trigger])
    routed = await router.enroll(published, contact_id, trigger.event_id, trigger)
    assert routed.outcome == "enrolled", routed
    return routed.workflow_id


async def state_of(env, workflow_id: str) -> JourneyState:
    """The journey's state query. A query that lands on a run just as it continues as
    new can go unanswered (the test server drops it), so a timed-out query is retried."""
    handle = env.client.get_workflow_handle(workflow_id)
    for attempt in range(5):
        try:
            return await handle.query(
                "state", result_type=JourneyState, rpc_timeout=timedelta(seconds=3)
            )
        except RPCError:
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


async def at_step(
    env, workflow_id: str, step_id: str, status: JourneyStatus = JourneyStatus.WAITING
) -> JourneyState:
    """Poll the journey's state query until it sits at `step_id` with `status`. Time does
    not skip meanwhile: only awaiting a result unlocks it."""
    for _ in range(400):
        state = await state_of(env, workflow_id)
        if state.current_step == step_id and state.status == status:
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"{workflow_id} never reached {step_id} ({status}); last: {state}")


async def send(router: Router, engine, contact_id: str, type: str, payload: dict | None = None):
    """An event as a service would send it: stored, projected and given a dispatch record
    in one transaction, then delivered (ingest -> dispatch -> deliver, as production)."""
    _, routed = await ingest_events(engine, router, [event(contact_id, type, payload or {})])
    return routed
