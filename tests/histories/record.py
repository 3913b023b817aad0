"""Regenerate the stored JourneyWorkflow histories that the replay test checks.

Run only when a workflow change is intentional *and* patched:
    DRIPSTONE_TEST_SERVER_BIN=... uv run python -m tests.histories.record
Old histories must keep replaying, so add new files rather than overwrite old ones.
"""

import asyncio
import sys
import tempfile
from pathlib import Path

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cli.dev_stack import SAMPLE_FLOW
from cli.flow_files import load_flow_file
from projections.database import make_engine, migrate
from projections.event_store import ingest
from settings import Settings
from tests.journey_harness import contact, enroll_and_finish, journey_worker
from workflows import search_attributes as sa

HERE = Path(__file__).parent


async def record(server_bin: str, name: str) -> Path:
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=server_bin)
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={key.name: key.indexed_value_type for key in sa.ALL}))
    workdir = Path(tempfile.mkdtemp())
    engine = make_engine(f"sqlite:///{workdir / 'record.db'}")
    migrate(engine)
    settings = Settings(_env_file=None, data_dir=workdir, task_queue="record")
    flow, _ = load_flow_file(SAMPLE_FLOW)
    ingest(engine, contact("c-1", email="one@example.com", phone="+14155550100", first_name="One",
                           tags=("engaged",)))
    async with journey_worker(env.client, engine, settings) as router:
        await enroll_and_finish(env, router, engine, flow, "c-1")
        history = await env.client.get_workflow_handle("journey/welcome/c-1").fetch_history()
    target = HERE / f"{name}.json"
    target.write_text(history.to_json())
    await env.shutdown()
    return target


if __name__ == "__main__":
    import os

    print(asyncio.run(record(os.environ["DRIPSTONE_TEST_SERVER_BIN"],
                             sys.argv[1] if len(sys.argv) > 1 else "welcome_journey_v1")))
