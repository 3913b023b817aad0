"""Record the histories of a journey migration for the replay test:
    DRIPSTONE_TEST_SERVER_BIN=... .venv/bin/python -m tests.histories.record_migration v1
A journey waiting in a 3-day wait of v1 gets the `migrate` order (patch
"journey-migration", and from the migfix recording "journey-migration-index-step": the
index write carries the mapped step): its first run records the order, the index write and the
continue-as-new; its second run resumes the wait on v2's renamed step (5 days, counted
from when the wait began) and finishes there. The MigrationWorkflow's own history is
stored too. Recorded with the plain pydantic converter (the codec passes such payloads
through). Refuses to overwrite a stored history."""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter

from domain.journey import JourneyStatus
from domain.migration_plan import MigrationProgress
from projections.database import make_engine, migrate
from projections.event_store import ingest
from projections.flow_catalogue import publish
from routing.journey_migrations import start_migration
from settings import Settings
from tests.conftest import _start_time_skipping
from tests.histories.record import HERE, _run_ids
from tests.journey_harness import contact, event, flow_from, journey_result, journey_worker
from tests.workflows.live_journeys import at_step

V1 = {
    "id": "migrated",
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Welcome", "body": "."},
        {"id": "pause", "kind": "wait", "delay": "3d"},
        {"id": "bye", "kind": "send_email", "subject": "Bye v1", "body": "."},
    ],
}
V2 = {
    "id": "migrated",
    "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Welcome", "body": "."},
        {"id": "linger", "kind": "wait", "delay": "5d"},
        {"id": "bye", "kind": "send_email", "subject": "Bye v2", "body": "."},
    ],
}


async def record(version: str) -> list[Path]:
    targets = [
        HERE / f"{stem}_{version}.json"
        for stem in ("migrated", "migrated-second-run", "migration-operation")
    ]
    if any(t.exists() for t in targets):
        raise SystemExit(f"one of {targets} exists; record under a new name")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        migrate(engine)
        settings = Settings(_env_file=None, data_dir=Path(tmp), task_queue="record-migration")
        env = await _start_time_skipping(pydantic_data_converter)
        try:
            with engine.begin() as conn:
                v1 = publish(conn, flow_from(V1))
            ingest(engine, contact("mig-1", email="mig-1@example.com"))
            trigger = event("mig-1", "form.submitted", {"form_id": "x"})
            ingest(engine, [trigger])
            async with journey_worker(env.client, engine, settings) as router:
                journey = (await router.enroll(v1, "mig-1", trigger.event_id, trigger)).workflow_id
                await at_step(env, journey, "pause")
                with engine.begin() as conn:
                    publish(conn, flow_from(V2))
                migration_id = await start_migration(
                    env.client, "migrated", 2, [1], {"pause": "linger"}, settings.task_queue
                )
                operation = env.client.get_workflow_handle(
                    f"migration/migrated/{migration_id}", result_type=MigrationProgress
                )
                for _ in range(400):
                    if len(await _run_ids(env, journey)) == 2:
                        break
                    await asyncio.sleep(0.05)
                await at_step(env, journey, "linger")
                state = await journey_result(env, journey)
                assert state.status == JourneyStatus.COMPLETED and state.runs == 2, state
                progress = await operation.result()
                assert progress.signalled == 1, progress
                runs = await _run_ids(env, journey)
                histories = [
                    await env.client.get_workflow_handle(journey, run_id=r).fetch_history()
                    for r in runs
                ] + [await operation.fetch_history()]
        finally:
            await env.shutdown()
            engine.dispose()
    for target, history in zip(targets, histories, strict=True):
        target.write_text(history.to_json())
    return targets


if __name__ == "__main__":
    print(asyncio.run(record(sys.argv[1])))
