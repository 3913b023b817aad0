"""Step reports held by a journey and written together (journey-patches-v9): one local
activity for a journey's short steps, written before it waits and with its end, so the
per-step analytics and the journey index never lag behind a waiting journey, and written
too when the run fails."""

import asyncio

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError

from domain.journey import JourneyInput, JourneyStatus
from projections.event_store import ingest
from projections.schema import journey_index
from projections.step_schema import journey_step_visits
from tests.journey_harness import contact, event, flow_from, journey_result, journey_worker, send
from tests.workflows.live_journeys import at_step, start
from workflows.journey import JourneyWorkflow

FLOW = {
    "id": "progress",
    "trigger": {"event": "form.submitted"},
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Hello", "body": "."},
        {"id": "tagged", "kind": "add_tag", "tag": "greeted"},
        {"id": "reply", "kind": "wait_for_event", "event": "sms.received", "timeout": "2d"},
        {"id": "bye", "kind": "send_email", "subject": "Bye", "body": "."},
    ],
}


def visits(engine, workflow_id: str) -> list[tuple[str, int, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                journey_step_visits.c.step_id,
                journey_step_visits.c.visit,
                journey_step_visits.c.result,
            )
            .where(journey_step_visits.c.workflow_id == workflow_id)
            .order_by(journey_step_visits.c.ended_at, journey_step_visits.c.step_id)
        )
        return [tuple(row) for row in rows]


def index_row(engine, workflow_id: str):
    with engine.connect() as conn:
        return conn.execute(
            select(journey_index.c.status, journey_index.c.current_step).where(
                journey_index.c.workflow_id == workflow_id
            )
        ).one()


async def until(check, attempts: int = 400):
    """The local activity that writes the reports may still be running when the query
    already shows the journey at its wait: poll the database, not the clock."""
    for _ in range(attempts):
        if result := check():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"never true: {check}")


def local_activities(history, activity_type: str) -> int:
    return sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
        and activity_type.encode() in e.marker_recorded_event_attributes.SerializeToString()
    )


async def test_reports_are_written_before_a_wait_and_with_the_end(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    ingest(engine, contact("p1", email="p1@example.com"))
    async with journey_worker(env.client, engine, settings) as router:
        workflow_id = await start(router, engine, flow_from(FLOW), "p1")
        await at_step(env, workflow_id, "reply")
        # Both short steps are counted and the index places the contact at its wait.
        await until(lambda: len(visits(engine, workflow_id)) == 2)
        assert [v[:2] for v in visits(engine, workflow_id)] == [("hello", 1), ("tagged", 1)]
        assert tuple(index_row(engine, workflow_id)) == ("running", "reply")
        await send(router, engine, event("p1", "sms.received", {"body": "yes"}))
        state = await journey_result(env, workflow_id)
    assert state.status == JourneyStatus.COMPLETED
    assert [v[:2] for v in visits(engine, workflow_id)] == [
        ("hello", 1),
        ("tagged", 1),
        ("reply", 1),
        ("bye", 1),
    ]
    assert index_row(engine, workflow_id).status == "ended"
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    # One batch before the wait, one with the end; no report or index write of its own.
    assert local_activities(history, "record_progress") == 2
    assert local_activities(history, "record_step") == 0
    assert local_activities(history, "record_journey") == 0


async def test_a_failed_run_still_reports_the_steps_it_took(time_skipping_env, engine, settings):
    # A wait skipped at run time sends the journey round again without a timer: it fails
    # (LoopWithoutWait) on the second visit, after the held reports are written.
    flow = flow_from(
        {
            "id": "spin-report",
            "version": 1,
            "steps": [
                {"id": "mail", "kind": "send_email", "subject": "Again?", "body": "."},
                {
                    "id": "pause",
                    "kind": "wait",
                    "delay": "1d",
                    "run_if": {"kind": "has_tag", "tag": "vip"},
                    "next": "mail",
                },
            ],
        }
    )
    ingest(engine, contact("p2", email="p2@example.com"))
    async with journey_worker(time_skipping_env.client, engine, settings):
        handle = await time_skipping_env.client.start_workflow(
            JourneyWorkflow.run,
            JourneyInput(flow=flow, contact_id="p2", enrollment_id="e1"),
            id="journey/spin-report/p2",
            task_queue=settings.task_queue,
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    assert failure.value.cause.type == "LoopWithoutWait"
    assert [v[:2] for v in visits(engine, "journey/spin-report/p2")] == [
        ("mail", 1),
        ("pause", 1),
    ]
