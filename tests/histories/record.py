"""Regenerate the stored JourneyWorkflow histories that the replay test checks.

Run only when a workflow change is intentional *and* patched:
    DRIPSTONE_TEST_SERVER_BIN=... uv run python -m tests.histories.record v2
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
from domain.flow import Flow
from settings import Settings
from tests.journey_harness import contact, enroll_and_finish, journey_worker
from workflows import search_attributes as sa

HERE = Path(__file__).parent


FLOW_CONTROL = {
    "id": "flow-control", "trigger": {"event": "form.submitted"}, "steps": [
        {"id": "hello", "kind": "send_email", "subject": "Hi {{ first_name }}", "body": ".",
         "when": {"delay": "1h"}},
        {"id": "vip-only", "kind": "send_sms", "text": "VIP", "run_if": {"kind": "has_tag", "tag": "vip"},
         "on_false": "skip"},
        {"id": "route", "kind": "multi_branch", "paths": [
            {"condition": {"kind": "attribute", "field": "points", "op": "gte", "value": 100},
             "goto": "split"}], "otherwise": "end"},
        {"id": "split", "kind": "split", "paths": [{"percent": 50, "goto": "a"}, {"percent": 50, "goto": "b"}]},
        {"id": "a", "kind": "change_tags", "add": ["variant-a"], "remove": ["lead"], "next": "pause"},
        {"id": "b", "kind": "change_tags", "add": ["variant-b"], "remove": ["lead"]},
        {"id": "pause", "kind": "wait", "delay": "2d"},
        {"id": "end", "kind": "exit", "reason": "done"},
    ]}


async def record(server_bin: str, name: str) -> list[Path]:
    """Record both scenarios; `name` is the file-name suffix (bump it, never overwrite)."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter, test_server_existing_path=server_bin)
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={key.name: key.indexed_value_type for key in sa.ALL}))
    workdir = Path(tempfile.mkdtemp())
    engine = make_engine(f"sqlite:///{workdir / 'record.db'}")
    migrate(engine)
    settings = Settings(_env_file=None, data_dir=workdir, task_queue="record")
    welcome, _ = load_flow_file(SAMPLE_FLOW)
    control = Flow.model_validate(FLOW_CONTROL)
    ingest(engine, contact("c-1", email="one@example.com", phone="+14155550100", first_name="One",
                           tags=("engaged", "lead"), points=500))
    targets = []
    async with journey_worker(env.client, engine, settings) as router:
        for flow in (welcome, control):
            await enroll_and_finish(env, router, engine, flow, "c-1")
            history = await env.client.get_workflow_handle(f"journey/{flow.id}/c-1").fetch_history()
            targets.append(HERE / f"{flow.id}_journey_{name}.json")
            targets[-1].write_text(history.to_json())
    await env.shutdown()
    return targets


if __name__ == "__main__":
    import os

    print(asyncio.run(record(os.environ["DRIPSTONE_TEST_SERVER_BIN"],
                             sys.argv[1] if len(sys.argv) > 1 else "v1")))
