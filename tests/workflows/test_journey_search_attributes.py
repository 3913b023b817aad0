"""A journey shows its step and status to ops as search attributes, upserted only when
one of them changes (patch journey-sa-on-change): the start already sets the first step
and "running", and every upsert is a history event. Since journey-patches-v10 they are
upserted where the journey waits or ends, once, not at each short step on the way."""

from temporalio.api.enums.v1 import EventType
from temporalio.converter import decode_search_attributes

from domain.journey import JourneyStatus
from projections.event_store import ingest
from tests.journey_harness import contact, enroll_and_finish, flow_from, journey_worker
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
    assert len(patches) == 1 and b"journey-patches-v10" in patches[0].SerializeToString()
