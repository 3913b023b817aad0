"""Record a FlowControlWorkflow history for the replay test (tests/workflows/test_replay.py):
    DRIPSTONE_TEST_SERVER_BIN=... .venv/bin/python -m tests.histories.record_flow_control v1
Three journeys of one flow paused in pages of two (two page activities). Recorded with
the plain pydantic converter: the codec passes such payloads through, so the history
replays whatever keys a test run has. Refuses to overwrite a stored history."""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter

from domain.flow_control import FlowControlInput, FlowControlProgress
from projections.database import make_engine, migrate
from projections.flow_catalogue import publish
from settings import Settings
from tests.conftest import _start_time_skipping
from tests.histories.record import HERE
from tests.journey_harness import contact, event, flow_from, journey_worker, send


async def record(version: str) -> Path:
    target = HERE / f"flow-control-operation_{version}.json"
    if target.exists():
        raise SystemExit(f"{target} exists; record under a new name")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        migrate(engine)
        settings = Settings(_env_file=None, data_dir=Path(tmp), task_queue="record-flow-control")
        env = await _start_time_skipping(pydantic_data_converter)
        try:
            with engine.begin() as conn:
                publish(
                    conn,
                    flow_from(
                        {
                            "id": "held",
                            "steps": [
                                {"id": "wait", "kind": "wait", "delay": "1d"},
                                {"id": "mail", "kind": "send_email", "subject": "Hi", "body": "."},
                            ],
                        }
                    ),
                )
            async with journey_worker(env.client, engine, settings) as router:
                for n in range(3):
                    await send(router, engine, *contact(f"fc-{n}", email=f"fc{n}@example.com"))
                    await send(router, engine, event(f"fc-{n}", "form.submitted", {"form_id": "x"}))
                handle = await env.client.start_workflow(
                    "FlowControlWorkflow",
                    FlowControlInput(flow_id="held", signal="pause", page_size=2),
                    id="flow-control/held/pause/record",
                    task_queue=settings.task_queue,
                    result_type=FlowControlProgress,
                )
                progress = await handle.result()
                assert (progress.signalled, progress.pages) == (3, 2), progress
                history = await handle.fetch_history()
        finally:
            await env.shutdown()
            engine.dispose()
    target.write_text(history.to_json())
    return target


if __name__ == "__main__":
    print(asyncio.run(record(sys.argv[1])))
