"""Record a BackfillWorkflow history for the replay test (tests/workflows/test_replay.py):
    DRIPSTONE_TEST_SERVER_BIN=... .venv/bin/python -m tests.histories.record_backfill v1
A paced backfill of 7 contacts (2 others do not match) in pages of 3: a count, three
pages and the pacing timers between them. Refuses to overwrite a stored history: add a new file for a new version instead."""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter

from projections.database import make_engine, migrate
from settings import Settings
from tests.conftest import _start_time_skipping
from tests.histories.record import HERE
from tests.journey_harness import journey_worker
from tests.workflows.test_backfill import audience, finished, published, start


async def record(version: str) -> Path:
    target = HERE / f"backfill_{version}.json"
    if target.exists():
        raise SystemExit(f"{target} exists; record under a new name")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        migrate(engine)
        settings = Settings(_env_file=None, data_dir=Path(tmp), task_queue="record-backfill")
        # The binary in DRIPSTONE_TEST_SERVER_BIN; unencrypted, so it replays under any keys.
        env = await _start_time_skipping(pydantic_data_converter)
        try:
            flow = published(engine, "backfilled")
            audience(engine, "bf", members=7, others=2)
            async with journey_worker(env.client, engine, settings):
                workflow_id = await start(env, settings, flow, rate=1.0, page_size=3)
                progress = await finished(env, workflow_id)
            assert progress.status == "completed" and progress.enrolled == 7, progress
            history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        finally:
            await env.shutdown()
            engine.dispose()
    target.write_text(history.to_json())
    return target


if __name__ == "__main__":
    print(asyncio.run(record(sys.argv[1])))
