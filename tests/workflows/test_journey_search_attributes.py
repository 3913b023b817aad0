"""A journey shows its step and status to ops as search attributes, upserted only when
one of them changes (patch journey-sa-on-change): the start already sets the first step
and "running", and every upsert is a history event. Since journey-patches-v10 they are
upserted where the journey waits or ends, once, not at each short step on the way."""

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.converter import decode_search_attributes

from domain.contracts.contact_changes import ContactChangeOutcome, ContactChangeRequest
from domain.journey import JourneyStatus
from projections.event_store import ingest
from routing.journey_views import journey_state
from routing.router import Router
from tests.journey_harness import (
    contact,
    enroll_and_finish,
    flow_from,
    journey_result,
    journey_worker,
)
from tests.workflows.live_journeys import at_step, send, start
from worker import activities_for, build_worker
from workflows import search_attributes as sa

SHOWN = (sa.CURRENT_STEP.name, sa.STATUS.name)
FLOW = {
    "id": "sa-on-change",
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Hello", "body": "."},
        {"id": "tagged", "kind": "add_tag", "tag": "greeted"},
        {"id": "later", "kind": "wait", "delay": "1h"},
        {"id": "bye", "kind": "send_email", "subject": "Bye", "body": ".", "when": {"delay": "1h"}},
    ],
}


def _shown(attributes) -> dict[str, str]:
    return {
        name: values[0]
        for name, values in decode_search_attributes(attributes).items()
        if name in SHOWN
    }


async def test_step_and_status_are_upserted_only_when_they_change(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    ingest(engine, contact("sa-1", email="sa-1@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        state = await enroll_and_finish(env, router, engine, flow_from(FLOW), "sa-1")
    assert state.status == JourneyStatus.COMPLETED

    history = await env.client.get_workflow_handle("journey/sa-on-change/sa-1").fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    # Upserts of other attributes (the SDK's TemporalChangeVersion for each patch) aside.
    upserts = [
        shown
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        and (
            shown := _shown(e.upsert_workflow_search_attributes_event_attributes.search_attributes)
        )
    ]
    step, status = sa.CURRENT_STEP.name, sa.STATUS.name
    assert _shown(started.search_attributes) == {step: "hello", status: "running"}
    # The first step runs as started (no upsert); the add_tag step runs in the same
    # workflow task as the wait after it, so only the wait is shown, "waiting"; the last
    # send waits for its delay (still "waiting"); it runs in the task that ends the
    # journey, so only the end is shown, "completed".
    assert upserts == [
        {step: "later", status: "waiting"},
        {step: "bye"},
        {status: "completed", step: ""},
    ]
    markers = [
        e.marker_recorded_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]
    # Asked through the bundle (workflows/journey_patches.py): its one marker, no other.
    patches = [m for m in markers if m.marker_name == "core_patch"]
    assert len(patches) == 1 and b"journey-patches-v11" in patches[0].SerializeToString()


RETRYING = {
    "id": "retrying-step",
    "steps": [
        {"id": "reply", "kind": "wait_for_event", "event": "sms.received", "timeout": "2d"},
        {"id": "tagged", "kind": "add_tag", "tag": "replied"},
    ],
}
FAILING_ATTEMPTS = 4  # retried after 1 s, 2 s, 4 s, 8 s: past the task's 8 s heartbeat


def _shown_so_far(history) -> dict[str, str]:
    started = history.events[0].workflow_execution_started_event_attributes
    shown = {n: v[0] for n, v in decode_search_attributes(started.search_attributes).items()}
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            attributes = e.upsert_workflow_search_attributes_event_attributes.search_attributes
            shown.update({n: v[0] for n, v in decode_search_attributes(attributes).items()})
    return {k: shown[k] for k in SHOWN}


async def test_a_retrying_short_step_lags_in_visibility_but_the_journey_says_where_it_is(
    time_skipping_env, engine, settings
):
    """Found by review: v10 holds a short step's attributes, so while it retries for long
    (the database down) visibility still shows the journey's last wait, as its step
    reports lag (docs/patches.md). `dripstone journeys` and the API ask the journey
    itself (routing/journey_views.py) and show the step it is on."""
    env = time_skipping_env
    reached, release = asyncio.Event(), asyncio.Event()
    activities = activities_for(settings, engine, env.client)
    original = next(
        a
        for a in activities
        if getattr(a, "__temporal_activity_definition", None)
        and a.__temporal_activity_definition.name == "change_contact"
    )

    @activity.defn(name="change_contact")
    async def database_down_for_a_while(request: ContactChangeRequest) -> ContactChangeOutcome:
        if activity.info().attempt <= FAILING_ATTEMPTS:
            raise RuntimeError("database unavailable")
        reached.set()
        await release.wait()
        return await original(request)

    activities = [database_down_for_a_while if a is original else a for a in activities]
    ingest(engine, contact("r1", email="r1@example.com"))
    router = Router(env.client, engine, settings.task_queue, local_sends=settings.local_sends)
    async with build_worker(env.client, settings, activities):
        workflow_id = await start(router, engine, flow_from(RETRYING), "r1")
        await at_step(env, workflow_id, "reply")
        await send(router, engine, "r1", "sms.received", {"body": "yes"})
        await asyncio.wait_for(reached.wait(), 60)
        handle = env.client.get_workflow_handle(workflow_id)
        shown_while_retrying = _shown_so_far(await handle.fetch_history())
        state = await journey_state(env.client, workflow_id, rpc_timeout=timedelta(seconds=30))
        release.set()
        ended = await journey_result(env, workflow_id)
        shown_at_the_end = _shown_so_far(await handle.fetch_history())
    step, status = sa.CURRENT_STEP.name, sa.STATUS.name
    assert shown_while_retrying == {step: "reply", status: "waiting"}
    assert state is not None
    assert (state.current_step, state.status) == ("tagged", JourneyStatus.RUNNING)
    assert ended.status == JourneyStatus.COMPLETED
    assert shown_at_the_end == {step: "", status: "completed"}
