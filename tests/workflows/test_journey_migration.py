"""Moving running journeys to a new version of their flow, on the time-skipping server:
journeys waiting in a wait step of v1 continue on v2 at the mapped step, nothing already
sent is sent again, the dry run refuses a waiting step that has no place, and journeys
that ended (or run another version) are not touched."""

import asyncio
from datetime import timedelta

from temporalio.client import WorkflowExecutionStatus

from domain.flow import Flow
from domain.journey import JourneyState, JourneyStatus
from domain.migration_plan import MigrationProgress
from projections import journey_index as index
from projections.event_store import ingest
from projections.flow_catalogue import publish
from projections.step_stats import flow_step_stats
from routing.controls import JourneyControls
from routing.journey_migrations import dry_run, load_versions, migration_progress, start_migration
from tests.journey_harness import (
    contact,
    event,
    flow_from,
    journey_result,
    journey_worker,
    outbox,
)
from tests.workflows.live_journeys import at_step


def _v1(flow_id: str) -> Flow:
    return flow_from(
        {
            "id": flow_id,
            "steps": [
                {"id": "hello", "kind": "send_email", "subject": "Welcome", "body": "."},
                {"id": "pause", "kind": "wait", "delay": "3d"},
                {"id": "follow", "kind": "send_email", "subject": "Follow-up v1", "body": "."},
            ],
        }
    )


def _v2(flow_id: str, wait_id: str = "pause", delay: str = "5d") -> Flow:
    return flow_from(
        {
            "id": flow_id,
            "steps": [
                {"id": "hello", "kind": "send_email", "subject": "Welcome", "body": "."},
                {"id": wait_id, "kind": "wait", "delay": delay},
                {"id": "follow", "kind": "send_email", "subject": "Follow-up v2", "body": "."},
                {"id": "extra", "kind": "send_email", "subject": "New in v2", "body": "."},
            ],
        }
    )


def _publish(engine, flow: Flow) -> Flow:
    with engine.begin() as conn:
        return publish(conn, flow)


async def _enroll(router, engine, flow: Flow, contact_id: str) -> str:
    ingest(engine, contact(contact_id, email=f"{contact_id}@example.com"))
    trigger = event(contact_id, "form.submitted", {"form_id": "signup"})
    ingest(engine, [trigger])
    routed = await router.enroll(flow, contact_id, trigger.event_id, trigger)
    assert routed.outcome == "enrolled", routed
    return routed.workflow_id


async def _finished(env, engine, flow_id: str, migration_id: str) -> MigrationProgress:
    """Polled by query: awaiting the result would let the clock skip past the waits."""
    for _ in range(400):
        progress = await migration_progress(env.client, engine, flow_id, migration_id)
        if progress.status == "completed":
            return progress
        await asyncio.sleep(0.05)
    raise AssertionError(f"migration {migration_id} did not finish: {progress}")


async def _on_version(env, engine, journey: str, version: int, step: str):
    for _ in range(400):
        with engine.connect() as conn:
            row = index.get(conn, journey)
        if row.flow_version == version:
            return await at_step(env, journey, step)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{journey} never moved to version {version}: {row}")


async def _closed(env, journey: str):
    """Its end, polled: awaiting with the clock unlocked would let the others' waits run out."""
    handle = env.client.get_workflow_handle(journey, result_type=JourneyState)
    for _ in range(400):
        if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
            return await handle.result()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{journey} did not end")


def _subjects(engine, contact_id: str) -> list[str]:
    return [m.subject for m in outbox(engine, contact_id)]


async def test_waiting_journeys_move_to_v2_and_nothing_is_sent_twice(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    v1 = _publish(engine, _v1("mig-wait"))
    async with journey_worker(env.client, engine, settings) as router:
        moving = [await _enroll(router, engine, v1, f"mw-{n}") for n in range(2)]
        ended = await _enroll(router, engine, v1, "mw-ended")
        before = {j: await at_step(env, j, "pause") for j in moving + [ended]}
        await JourneyControls(env.client, engine).signal_contact(v1.id, "mw-ended", "stop")
        stopped = await _closed(env, ended)
        ended_run = (await env.client.get_workflow_handle(ended).describe()).run_id
        v2 = _publish(engine, _v2("mig-wait"))
        on_v2 = await _enroll(router, engine, v2, "mw-new")
        await at_step(env, on_v2, "pause")
        v2_run = (await env.client.get_workflow_handle(on_v2).describe()).run_id
        sent_before = {c: _subjects(engine, c) for c in ("mw-0", "mw-1", "mw-ended")}
        assert all(s == ["Welcome"] for s in sent_before.values()), sent_before

        versions = load_versions(engine, v1.id, 2, None, {})
        assert list(versions.sources) == [1]  # v2's own journey is not a source
        plan = await dry_run(engine, env.client, versions, {})
        assert not plan.refused, plan
        [row] = plan.rows
        assert (row.from_version, row.step_id, row.status, row.journeys, row.to_step) == (
            1,
            "pause",
            "waiting",
            2,
            "pause",
        )
        assert row.deadline == "target's own wait, counted from when the wait began"

        migration = await start_migration(env.client, v1.id, 2, [1], {}, settings.task_queue)
        progress = await _finished(env, engine, v1.id, migration)
        assert (progress.signalled, progress.not_running) == (2, 0), progress
        for journey in moving:
            state = await _on_version(env, engine, journey, 2, "pause")
            # 3 days changed to 5: counted from when the wait began, not from the move.
            started = before[journey].wait.started_at
            assert state.wait.until == started + timedelta(days=5), state.wait
            assert state.visits == before[journey].visits
            assert state.trail[-1].outcome.startswith("migrated to version 2 at step pause")
        assert (await _finished(env, engine, v1.id, migration)).still_on_old_versions == 0
        results = [await journey_result(env, j) for j in moving + [on_v2]]

    assert all(r.status == JourneyStatus.COMPLETED for r in results), results
    for contact_id in ("mw-0", "mw-1", "mw-new"):
        assert _subjects(engine, contact_id) == ["Welcome", "Follow-up v2", "New in v2"]
    # Ended and other-version journeys untouched: same run, same index row.
    assert _subjects(engine, "mw-ended") == ["Welcome"]
    assert stopped.status == JourneyStatus.EXITED
    assert (await env.client.get_workflow_handle(ended).describe()).run_id == ended_run
    with engine.connect() as conn:
        assert (index.get(conn, ended).flow_version, index.get(conn, ended).status) == (1, "ended")
    history = await env.client.get_workflow_handle(on_v2, run_id=v2_run).fetch_history()
    assert not any(
        e.HasField("workflow_execution_continued_as_new_event_attributes") for e in history.events
    )


async def test_dry_run_refuses_an_unmapped_waiting_step_until_it_is_mapped(
    time_skipping_env, engine, settings
):
    env = time_skipping_env
    v1 = _publish(engine, _v1("mig-map"))
    async with journey_worker(env.client, engine, settings) as router:
        journey = await _enroll(router, engine, v1, "mm-1")
        before = await at_step(env, journey, "pause")
        _publish(engine, _v2("mig-map", wait_id="linger", delay="3d"))

        versions = load_versions(engine, v1.id, 2, 1, {})
        refused = await dry_run(engine, env.client, versions, {})
        assert refused.refused
        assert refused.unmapped == ["version 1 step 'pause' (1 journey(s) waiting)"]
        assert refused.rows[0].to_step is None

        mapping = {"pause": "linger"}
        mapped = await dry_run(
            engine, env.client, load_versions(engine, v1.id, 2, 1, mapping), mapping
        )
        assert not mapped.refused and mapped.rows[0].to_step == "linger"
        assert mapped.rows[0].deadline == "deadline kept"

        migration = await start_migration(env.client, v1.id, 2, [1], mapping, settings.task_queue)
        await _finished(env, engine, v1.id, migration)
        state = await _on_version(env, engine, journey, 2, "linger")
        assert state.wait.until == before.wait.until  # same 3-day wait: deadline kept
        # The index places it at the mapped step of v2 (stats and console read it there).
        with engine.connect() as conn:
            assert index.get(conn, journey).current_step == "linger"
            stats = flow_step_stats(conn, v1.id, 2).by_step()
        assert (stats["linger"].waiting, stats["linger"].entered) == (1, 1), stats["linger"]
        assert state.visits["linger"] == 1 and state.current_visit == 1
        result = await journey_result(env, journey)
    assert result.status == JourneyStatus.COMPLETED
    assert _subjects(engine, "mm-1") == ["Welcome", "Follow-up v2", "New in v2"]
    assert result.runs == 2  # the move was one continue-as-new
