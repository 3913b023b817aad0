"""Record a JourneyWorkflow history of the step table's patches, for the replay test
(tests/workflows/test_replay.py):
    DRIPSTONE_TEST_SERVER_BIN=... .venv/bin/python -m tests.histories.record_step_table v1
One contact through tag steps whose change is invalid (recorded, the journey goes on:
"tag-invalid-change-recorded"), a contact change, a condition and a send: the short
steps as local activities ("journey-local-steps"), the send as a regular one. The flow
is started directly: publishing refuses such a tag now, a version published before
could hold one. Recorded with the plain pydantic converter, like the other recorders.
Refuses to overwrite a stored history."""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter

from domain.journey import JOURNEY_WORKFLOW, JourneyInput, JourneyStatus
from projections.database import make_engine, migrate
from projections.event_store import ingest
from settings import Settings
from tests.conftest import _start_time_skipping
from tests.histories.record import HERE
from tests.journey_harness import contact, flow_from, journey_result, journey_worker

TOO_LONG = "t" * 101
FLOW = flow_from(
    {
        "id": "step-table",
        "steps": [
            {"id": "bad-tag", "kind": "add_tag", "tag": TOO_LONG},
            {"id": "tags", "kind": "change_tags", "add": ["lead", TOO_LONG], "remove": ["cold"]},
            {
                "id": "visits",
                "kind": "update_contact",
                "changes": [{"field": "visits", "action": "increment", "by": 1}],
            },
            {
                "id": "route",
                "kind": "branch",
                "condition": {"kind": "has_tag", "tag": "lead"},
                "then": "mail",
                "otherwise": "end",
            },
            {"id": "mail", "kind": "send_email", "subject": "Hello", "body": "."},
            {"id": "end", "kind": "exit", "reason": "done"},
        ],
    }
)
WORKFLOW_ID = "journey/step-table/st-1"


async def record(version: str) -> list[Path]:
    target = HERE / f"step-table_{version}.json"
    if target.exists():
        raise SystemExit(f"{target} exists; record under a new name")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        migrate(engine)
        settings = Settings(_env_file=None, data_dir=Path(tmp), task_queue="record-step-table")
        env = await _start_time_skipping(pydantic_data_converter)
        try:
            ingest(engine, contact("st-1", email="st-1@example.com", visits=1))
            async with journey_worker(env.client, engine, settings):
                await env.client.start_workflow(
                    JOURNEY_WORKFLOW,
                    JourneyInput(flow=FLOW, contact_id="st-1", enrollment_id="e-1"),
                    id=WORKFLOW_ID,
                    task_queue=settings.task_queue,
                )
                state = await journey_result(env, WORKFLOW_ID)
            codes = [v.code for v in state.trail]
            assert state.status == JourneyStatus.EXITED, state
            assert codes == [
                "failed:InvalidChange",
                "failed:InvalidChange",
                "done",
                "branched",
                "sent",
                "exited",
            ], codes
            history = await env.client.get_workflow_handle(WORKFLOW_ID).fetch_history()
        finally:
            await env.shutdown()
            engine.dispose()
    target.write_text(history.to_json())
    return [target]


if __name__ == "__main__":
    print(asyncio.run(record(sys.argv[1])))
