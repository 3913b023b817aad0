"""Record a FlowControlWorkflow history for the replay test (tests/workflows/test_replay.py):
    DRIPSTONE_TEST_SERVER_BIN=... .venv/bin/python -m tests.histories.record_flow_control v1
Three journeys of one flow paused in pages of two (two page activities). Recorded with
the plain pydantic converter: the codec passes such payloads through, so the history
replays whatever keys a test run has. Refuses to overwrite a stored history."""

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.flow_control import FlowControlInput, FlowControlProgress
from projections.database import make_engine, migrate
from projections.flow_catalogue import publish
from settings import Settings
from tests.conftest import _tool
from tests.histories.record import HERE
from tests.journey_harness import contact, event, flow_from, journey_worker, send
from workflows import search_attributes as sa


async def record(version: str) -> Path:
    target = HERE / f"flow-control-operation_{version}.json"
    if target.exists():
        raise SystemExit(f"{target} exists; record under a new name")
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/record.db")
        migrate(engine)
        settings = Settings(_env_file=None, data_dir=Path(tmp), task_queue="record-flow-control")
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=pydantic_data_converter,
            test_server_existing_path=_tool("DRIPSTONE_TEST_SERVER_BIN"),
            test_server_startup_timeout=timedelta(seconds=30))
        await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={key.name: key.indexed_value_type for key in sa.ALL}))
        try:
            with engine.begin() as conn:
                publish(conn, flow_from({"id": "held", "steps": [
                    {"id": "wait", "kind": "wait", "delay": "1d"},
                    {"id": "mail", "kind": "send_email", "subject": "Hi", "body": "."}]}))
            async with journey_worker(env.client, engine, settings) as router:
                for n in range(3):
                    await send(router, engine, *contact(f"fc-{n}", email=f"fc{n}@example.com"))
                    await send(router, engine, event(f"fc-{n}", "form.submitted", {"form_id": "x"}))
                handle = await env.client.start_workflow(
                    "FlowControlWorkflow", FlowControlInput(flow_id="held", signal="pause",
                                                            page_size=2),
                    id="flow-control/held/pause/record", task_queue=settings.task_queue,
                    result_type=FlowControlProgress)
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
