"""The "enroll existing" backfill on the time-skipping server with a real worker: who it
enrolls, that doing it again enrolls no one twice, that it resumes after a cancel or a
worker restart, that it is paced in workflow time, and how it reacts to the flow's
lifecycle (paused holds it, archived stops it)."""

import asyncio
from contextlib import nullcontext
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.backfill import BackfillProgress
from projections import flow_lifecycle
from projections.event_store import ingest
from projections.flow_catalogue import publish
from routing.backfills import backfill_progress, cancel_backfill, start_backfill
from tests.journey_harness import event, flow_from, journey_worker

FORMS = "form.submitted"


def published(engine, flow_id: str, **document):
    flow = flow_from(
        {
            "id": flow_id,
            "trigger": {"event": FORMS, "where": [{"path": "form_id", "value": "newsletter"}]},
            "steps": [{"id": "tag", "kind": "add_tag", "tag": "backfilled"}],
            **document,
        }
    )
    with engine.begin() as conn:
        return publish(conn, flow)


def audience(engine, prefix: str, members: int, others: int = 0) -> list[str]:
    """`members` contacts who submitted the newsletter form, `others` another form."""
    ids = [f"{prefix}-m{i}" for i in range(members)]
    ingest(
        engine,
        [event(c, FORMS, {"form_id": "newsletter"}) for c in ids]
        + [event(f"{prefix}-o{i}", FORMS, {"form_id": "contact-us"}) for i in range(others)],
    )
    return ids


async def start(env, settings, flow, rate: float = 1000.0, page_size: int = 3) -> str:
    return await start_backfill(
        env.client, flow, task_queue=settings.task_queue, rate_per_second=rate, page_size=page_size
    )


async def finished(env, workflow_id: str) -> BackfillProgress:
    """The backfill's result, letting time run meanwhile (as journey_result does)."""
    handle = env.client.get_workflow_handle(workflow_id, result_type=BackfillProgress)
    unlocked = env.time_skipping_unlocked() if env.supports_time_skipping else nullcontext()
    async with unlocked:
        return await handle.result()


async def progress_until(env, flow, test) -> BackfillProgress:
    """Poll the progress query (time does not skip meanwhile, so paced pages wait)."""
    for _ in range(400):
        progress = await backfill_progress(env.client, flow.id, flow.version)
        if progress is not None and test(progress):
            return progress
        await asyncio.sleep(0.05)
    raise AssertionError(f"backfill never got there; last: {progress}")


async def journey_runs(env, flow_id: str, contact_ids: list[str]) -> dict[str, str | None]:
    """contact -> run id of its journey in the flow (None: never enrolled), once that
    journey has finished: one left running when its worker stops would hold the shared
    time-skipping server's clock (its next task waits on the gone worker's sticky queue)."""
    runs = {}
    for contact_id in contact_ids:
        handle = env.client.get_workflow_handle(f"journey/{flow_id}/{contact_id}")
        try:
            runs[contact_id] = (await handle.describe()).run_id
        except RPCError as exc:
            assert exc.status == RPCStatusCode.NOT_FOUND
            runs[contact_id] = None
            continue
        await handle.result()  # one step, no timer: done without skipping time
    return runs


async def test_enrolls_the_matching_contacts_once_paced_in_workflow_time(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    # after_exit would let a second run re-enroll finished journeys: only the backfill's
    # own once-per-version identity keeps "run it twice" harmless here.
    flow = published(engine, "bf-enroll", re_entry="after_exit")
    members = audience(engine, "bfe", 7, others=3)
    async with journey_worker(env.client, engine, settings):
        workflow_id = await start(env, settings, flow, rate=0.5, page_size=3)
        assert workflow_id == "backfill/bf-enroll/v1"
        result = await finished(env, workflow_id)
        runs = await journey_runs(env, flow.id, members + [f"bfe-o{i}" for i in range(3)])
        description = await env.client.get_workflow_handle(workflow_id).describe()
        # Again, after it completed: the same backfill, not a second one.
        assert await start(env, settings, flow) == workflow_id
        assert (
            await env.client.get_workflow_handle(workflow_id).describe()
        ).run_id == description.run_id
        assert await journey_runs(env, flow.id, list(runs)) == runs
        assert await backfill_progress(env.client, flow.id, 1) == result
    assert result.model_dump(exclude={"workflow_id"}) == {
        "flow_id": "bf-enroll",
        "version": 1,
        "status": "completed",
        "scanned": 10,
        "enrolled": 7,
        "skipped": 0,
        "total": 7,
        "cursor": "bfe-o1",
        "reason": None,
    }
    assert [c for c, run in runs.items() if run] == members
    # Pages of 3 (m0-m2, m3-m5, m6 o0 o1, o2): 7 starts at 0.5/s take at least 14 s of
    # workflow time, waited out by durable timers between pages.
    assert description.close_time - description.start_time >= timedelta(seconds=14)
    history = await env.client.get_workflow_handle(workflow_id).fetch_history()
    assert sum(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events) == 3


async def test_contacts_already_in_the_flow_are_skipped(time_skipping_env, engine, settings):
    env = time_skipping_env
    flow = published(engine, "bf-skip")
    members = audience(engine, "bfs", 4)
    async with journey_worker(env.client, engine, settings) as router:
        trigger = event(members[1], FORMS, {"form_id": "newsletter"})
        ingest(engine, [trigger])
        assert (
            await router.enroll(flow, members[1], trigger.event_id, trigger)
        ).outcome == "enrolled"
        before = await journey_runs(env, flow.id, [members[1]])
        result = await finished(env, await start(env, settings, flow, page_size=2))
        after = await journey_runs(env, flow.id, members)
    assert (result.enrolled, result.skipped, result.total) == (3, 1, 4)
    assert after[members[1]] == before[members[1]]
    assert all(after.values())


async def test_a_cancelled_backfill_resumes_at_its_cursor(time_skipping_env, engine, settings):
    env = time_skipping_env
    flow = published(engine, "bf-cancel")
    members = audience(engine, "bfc", 6)
    async with journey_worker(env.client, engine, settings):
        # So slow that the first page's timer never runs out while time is not skipping.
        workflow_id = await start(env, settings, flow, rate=0.001, page_size=2)
        await progress_until(env, flow, lambda p: p.enrolled == 2)
        assert await cancel_backfill(env.client, flow.id, flow.version)
        stopped = await finished(env, workflow_id)
        assert await start(env, settings, flow, rate=1000) == workflow_id
        resumed = await finished(env, workflow_id)
        runs = await journey_runs(env, flow.id, members)
    assert (stopped.status, stopped.enrolled, stopped.cursor) == ("cancelled", 2, "bfc-m1")
    # No contact was attempted twice: none skipped, each enrolled once.
    assert (resumed.status, resumed.enrolled, resumed.skipped, resumed.scanned) == (
        "completed",
        6,
        0,
        6,
    )
    assert all(runs.values())


@pytest.mark.devserver
async def test_a_new_worker_finishes_what_a_stopped_one_started(dev_server_env, engine, settings):
    """On the dev server: the time-skipping server stops its clock while a workflow task
    waits on a stopped worker's sticky queue, so it never hands the task on."""
    env = dev_server_env
    flow = published(engine, "bf-restart")
    members = audience(engine, "bfr", 6)
    async with journey_worker(env.client, engine, settings):
        # Two contacts per page, one per second: a 2 s timer after each page.
        workflow_id = await start(env, settings, flow, rate=1, page_size=2)
        await progress_until(env, flow, lambda p: p.enrolled == 2)
    # The worker is gone mid-backfill; a new one picks it up where its state says.
    still = await env.client.get_workflow_handle(workflow_id).describe()
    assert still.status == WorkflowExecutionStatus.RUNNING
    async with journey_worker(env.client, engine, settings):
        result = await finished(env, workflow_id)
        runs = await journey_runs(env, flow.id, members)
    assert (result.status, result.enrolled, result.skipped) == ("completed", 6, 0)
    assert all(runs.values())


async def test_a_paused_flow_holds_the_backfill_and_archiving_stops_it(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    held, stopped = published(engine, "bf-paused"), published(engine, "bf-archived")
    ingest(engine, [event(f"bfp-{i}", FORMS, {"form_id": "newsletter"}) for i in range(4)])
    async with journey_worker(env.client, engine, settings):
        paused_id = await start(env, settings, held, rate=0.001, page_size=2)
        archived_id = await start(env, settings, stopped, rate=0.001, page_size=2)
        await progress_until(env, held, lambda p: p.enrolled == 2)
        await progress_until(env, stopped, lambda p: p.enrolled == 2)
        with engine.begin() as conn:
            flow_lifecycle.pause(conn, held.id)
            flow_lifecycle.archive(conn, stopped.id)
        gone = await finished(env, archived_id)
        await env.sleep(timedelta(minutes=5))  # its timer runs out; paused, it rechecks
        waiting = await backfill_progress(env.client, held.id, held.version)
        with engine.begin() as conn:
            flow_lifecycle.resume(conn, held.id)
        done = await finished(env, paused_id)
        contacts = [f"bfp-{i}" for i in range(4)]
        held_runs = await journey_runs(env, held.id, contacts)
        stopped_runs = await journey_runs(env, stopped.id, contacts)
    assert (gone.status, gone.enrolled, gone.reason) == (
        "cancelled",
        2,
        "flow 'bf-archived' is archived",
    )
    assert (waiting.status, waiting.enrolled, waiting.reason) == (
        "running",
        2,
        "flow 'bf-paused' is paused",
    )
    assert (done.status, done.enrolled) == ("completed", 4)
    assert all(held_runs.values())
    assert [c for c, run in stopped_runs.items() if run] == contacts[:2]


async def test_a_long_backfill_continues_as_new_and_keeps_its_counts(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    flow = published(engine, "bf-long")
    # 103 pages of one contact each: more than one run's worth; few members keep it quick.
    ingest(
        engine,
        [
            event(f"bfl-{i:03d}", FORMS, {"form_id": "newsletter" if i % 50 == 0 else "other"})
            for i in range(103)
        ],
    )
    async with journey_worker(env.client, engine, settings):
        workflow_id = await start(env, settings, flow, page_size=1)
        result = await finished(env, workflow_id)
        await journey_runs(env, flow.id, ["bfl-000", "bfl-050", "bfl-100"])
        description = await env.client.get_workflow_handle(workflow_id).describe()
        latest = await env.client.get_workflow_handle(workflow_id).fetch_history()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert (result.scanned, result.enrolled, result.skipped, result.total) == (103, 3, 0, 3)
    # The run that finished is not the first: it continued from an earlier one.
    assert latest.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
